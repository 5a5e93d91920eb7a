"""OpenAI-compatible `POST /v1/chat/completions` and `GET /v1/models`."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, assert_never

from fastapi import APIRouter, Depends, Request

from parley.engines.base import Turn
from parley.server.deps import authenticate, state_of
from parley.server.errors import STATUS_OF_KIND
from parley.server.knowledge import chosen_base
from parley.server.schemas import ChatCompletionRequest
from parley.server.streaming import StreamingReply, complete, open_stream
from parley.service import (
    ChatEvent,
    ChatReply,
    ChatRequest,
    Delta,
    Finished,
    Replaced,
    ServiceError,
    Started,
)

router = APIRouter(prefix="/v1", tags=["openai"])

FINISH = {"stop": "stop", "length": "length", "cancelled": "stop"}


def finish_reason(reply: ChatReply) -> str:
    return FINISH.get(reply.finish_reason, "content_filter")


def usage(reply: ChatReply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def parley_fields(reply: ChatReply) -> dict[str, Any]:
    return {
        "session_id": reply.session_id,
        "sources": reply.sources,
        "moderation": reply.moderation.as_dict(),
        "parley_finish_reason": reply.finish_reason,
    }


def to_chat_request(
    body: ChatCompletionRequest, owner: str | None, request: Request
) -> ChatRequest:
    state = state_of(request)
    limit = state.settings.max_message_chars
    if len(body.messages) > state.settings.max_messages:
        raise ServiceError(
            f"too many messages: {len(body.messages)} > {state.settings.max_messages}"
        )
    system = [m.text() for m in body.messages if m.role in ("system", "developer")]
    turns: list[Turn] = []
    for index, message in enumerate(body.messages):
        text = message.text()
        if len(text) > limit:
            raise ServiceError(f"messages.{index}.content is longer than {limit} characters")
        if message.role in ("user", "assistant"):
            turns.append(Turn(message.role, text))
    if not turns or turns[-1].role != "user" or not turns[-1].text.strip():
        raise ServiceError("the last message must be a non-empty user message")
    stop = [body.stop] if isinstance(body.stop, str) else body.stop
    values: dict[str, Any] = {
        "temperature": body.temperature,
        "top_p": body.top_p,
        "top_k": body.top_k,
        "max_new_tokens": body.max_completion_tokens or body.max_tokens,
        "repetition_penalty": body.repetition_penalty,
        "seed": body.seed,
        "stop": stop,
        **output_options(body),
    }
    params = state.service.params_from(
        {k: v for k, v in values.items() if v is not None}, state.settings.max_new_tokens_cap
    )
    return ChatRequest(
        message=turns[-1].text,
        params=params,
        session_id=body.session_id,
        # With a session the server keeps the history; otherwise the client sends it.
        history=None if body.session_id else turns[:-1],
        owner=owner,
        retrieval=True if body.retrieval is None else body.retrieval,
        system_prompt="\n\n".join(system) if system else None,
        knowledge_base=chosen_base(request, owner, body.knowledge_base, body.retrieval),
    )


def output_options(body: ChatCompletionRequest) -> dict[str, Any]:
    """JSON mode and logprobs as generation parameters; tools refused (never ignored)."""
    if body.tools and body.tool_choice != "none":
        raise ServiceError(
            "tools: Parley's pipeline does not call tools (its replies are moderated text); "
            "send the request without tools, or with tool_choice 'none'"
        )
    if body.tool_choice not in (None, "none", "auto"):
        raise ServiceError("tool_choice: no tools can be called on this server")
    options: dict[str, Any] = {}
    fmt = body.response_format
    if fmt is not None and fmt.type == "json_object":
        options["json_schema"] = {}
    elif fmt is not None and fmt.type == "json_schema":
        if fmt.json_schema is None:
            raise ServiceError("response_format.json_schema is required for type json_schema")
        options["json_schema"] = fmt.json_schema.schema_
    if body.logprobs:
        if body.stream:
            raise ServiceError("logprobs are returned with stream=false only")
        options["logprobs"] = body.top_logprobs or 0
    elif body.top_logprobs is not None:
        raise ServiceError("top_logprobs needs logprobs=true")
    return options


@router.post("/chat/completions")
async def chat_completions(
    body: ChatCompletionRequest, request: Request, owner: str | None = Depends(authenticate)
):
    """Chat completion, streamed as server-sent events when `stream` is true."""
    state = state_of(request)
    chat = to_chat_request(body, owner, request)
    model = body.model or state.service.model_name
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if not body.stream:
        reply = await complete(state, chat)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "logprobs": None if reply.logprobs is None else {"content": reply.logprobs},
                    "finish_reason": finish_reason(reply),
                }
            ],
            "usage": usage(reply),
            **parley_fields(reply),
        }
    started, events = await open_stream(state, chat)
    head = {"id": completion_id, "object": "chat.completion.chunk", "created": created}
    head["model"] = model

    def chunk(delta: dict[str, Any], reason: str | None = None, **extra: Any) -> bytes:
        body = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}
        return f"data: {json.dumps(body | extra)}\n\n".encode()

    async def sse(events: AsyncIterator[ChatEvent]) -> AsyncIterator[bytes]:
        yield chunk(
            {"role": "assistant", "content": ""},
            session_id=started.session_id,
            sources=started.sources,
            moderation=started.moderation.as_dict(),
        )
        try:
            async for event in events:
                match event:
                    case Started():
                        pass  # already sent: `open_stream` returned it
                    case Delta(text=text):
                        yield chunk({"content": text})
                    case Replaced(text=text):
                        # Clients that understand it replace the shown text; others see it appended.
                        yield chunk({"content": "\n\n" + text}, replace=text)
                    case Finished(reply=reply):
                        yield chunk(
                            {}, finish_reason(reply), usage=usage(reply), **parley_fields(reply)
                        )
                    case _:
                        assert_never(event)
        except ServiceError as exc:
            # The status line is sent already: the error goes as an event, as OpenAI does.
            error = {"message": str(exc), "type": exc.kind, "code": STATUS_OF_KIND[exc.kind]}
            yield f"data: {json.dumps({'error': error})}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingReply(
        sse(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Parley-Session-Id": started.session_id or ""},
    )


@router.get("/models")
def models(request: Request, owner: str | None = Depends(authenticate)) -> dict[str, Any]:
    """The one model this server answers with."""
    state = state_of(request)
    return {
        "object": "list",
        "data": [
            {
                "id": state.service.model_name,
                "object": "model",
                "created": 0,
                "owned_by": "parley",
                "max_model_len": state.service.engine.context_window,
            }
        ],
    }
