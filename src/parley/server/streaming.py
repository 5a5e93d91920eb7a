"""Running the pipeline from async routes: whole replies, and streams that stop with the client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi.responses import StreamingResponse

from parley.server.deps import ServerState
from parley.service import ChatEvent, ChatReply, ChatRequest, Delta, Finished, Started


async def complete(state: ServerState, chat: ChatRequest) -> ChatReply:
    """Run the whole pipeline once a generation slot is free."""
    async with state.gate.admit():
        reply = await anyio.to_thread.run_sync(state.service.complete, chat)
    record_reply(state, reply)
    return reply


async def open_stream(
    state: ServerState, chat: ChatRequest
) -> tuple[Started, AsyncIterator[ChatEvent]]:
    """Start the pipeline: its first event (errors here are still HTTP errors) and the rest.

    The sync pipeline is advanced step by step in worker threads; when the client goes away
    the stream is cancelled and closing the pipeline stops the generation.
    """
    ticket = state.gate.admit()
    await ticket.acquire()
    events = state.service.stream(chat)
    try:
        started = await anyio.to_thread.run_sync(next, events)
    except BaseException:
        ticket.release()
        await anyio.to_thread.run_sync(events.close)
        raise
    assert isinstance(started, Started)

    async def rest() -> AsyncIterator[ChatEvent]:
        began = time.perf_counter()
        first = True
        try:
            while True:
                # run_sync lets the step in flight finish before a cancellation lands, so
                # `events.close()` below never races a `next` in another thread.
                event = await anyio.to_thread.run_sync(next, events, None)
                if event is None:
                    return
                if first and isinstance(event, Delta):
                    first = False
                    state.metrics.time_to_first_token.observe(time.perf_counter() - began)
                if isinstance(event, Finished):
                    record_reply(state, event.reply)
                yield event
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(events.close)
                ticket.release()

    return started, rest()


class StreamingReply(StreamingResponse):
    """A streaming response that stops its body as soon as the client disconnects.

    Starlette relies on `send` failing for ASGI >= 2.4, but uvicorn drops writes to a closed
    connection silently, so the generation would run to its end for nobody. Listening for
    `http.disconnect` and cancelling the body closes the pipeline, which stops the model.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async with anyio.create_task_group() as group:

            async def body() -> None:
                await self.stream_response(send)
                group.cancel_scope.cancel()

            group.start_soon(body)
            await self.listen_for_disconnect(receive)
            group.cancel_scope.cancel()


def record_reply(state: ServerState, reply: ChatReply) -> None:
    state.metrics.generated_tokens.inc(reply.completion_tokens)
    state.metrics.prompt_tokens.inc(reply.prompt_tokens)
    verdicts = reply.moderation
    named = {"input": verdicts.input, "domain": verdicts.domain, "output": verdicts.output}
    for direction, verdict in named.items():
        if verdict is not None:
            state.metrics.moderation_actions.labels(direction, verdict.action, verdict.label).inc()
    if reply.retrieval_seconds is not None:
        state.metrics.retrieval_latency.observe(reply.retrieval_seconds)
