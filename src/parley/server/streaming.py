"""Running the pipeline from async routes: whole replies, and streams that stop with the client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import StreamingResponse

from parley.server.deps import ServerState
from parley.service import (
    ChatEvent,
    ChatReply,
    ChatRequest,
    Delta,
    Finished,
    ServiceError,
    Started,
)


class ClientGone(Exception):
    """The client disconnected before its reply was ready; the generation was stopped."""


@dataclass
class StreamFailed:
    """The pipeline failed after the stream began: the stream ends with this error."""

    error: ServiceError


async def complete(state: ServerState, chat: ChatRequest, request: Request) -> ChatReply:
    """Run the whole pipeline once a generation slot is free; stop it if the client leaves.

    ClientGone when the client disconnected first (the turn is kept as `cancelled`).
    """
    started, events = await open_stream(state, chat)
    reply: ChatReply | None = None
    failure: ServiceError | None = None
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()  # lands in `events`, whose cleanup closes the pipeline

        group.start_soon(watch)
        # Iterated here, not in a task of its own: the stream has started (and owns its clean-up)
        # before anything can cancel it.
        async for event in events:
            if isinstance(event, Finished):
                reply = event.reply
            elif isinstance(event, StreamFailed):
                failure = event.error
        group.cancel_scope.cancel()
    if failure is not None:
        raise failure
    if reply is None:
        raise ClientGone(f"client left session {started.session_id}")
    return reply


async def open_stream(
    state: ServerState, chat: ChatRequest
) -> tuple[Started, AsyncIterator[ChatEvent | StreamFailed]]:
    """Start the pipeline: its first event (errors here are still HTTP errors) and the rest.

    The sync pipeline is advanced step by step in worker threads; when the client goes away
    the stream is cancelled and closing the pipeline stops the generation.
    """
    ticket = state.gate.admit()
    await ticket.acquire()
    # Counted when the request ends however it ends (done, cancelled or failed).
    chat.on_finish = lambda reply: record_reply(state, reply)
    events = state.service.stream(chat)
    try:
        started = await anyio.to_thread.run_sync(next, events)
    except BaseException:
        ticket.release()
        await anyio.to_thread.run_sync(events.close)
        raise
    assert isinstance(started, Started)

    async def rest() -> AsyncIterator[ChatEvent | StreamFailed]:
        began = time.perf_counter()
        first = True
        try:
            while True:
                # run_sync lets the step in flight finish before a cancellation lands, so
                # `events.close()` below never races a `next` in another thread.
                try:
                    event = await anyio.to_thread.run_sync(next, events, None)
                except ServiceError as exc:
                    # Headers are sent: the stream ends with an error event, never silently.
                    yield StreamFailed(exc)
                    return
                if event is None:
                    return
                if first and isinstance(event, Delta):
                    first = False
                    state.metrics.time_to_first_token.observe(time.perf_counter() - began)
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
