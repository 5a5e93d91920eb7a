"""The engine without the pipeline, for Parleys in front of this one (`server.engine_api`).

`POST /v1/completions` (OpenAI's completions: a prompt in, its continuation out, streamed as
server-sent events), `POST /tokenize` and `POST /apply-template` (as llama.cpp's server): what
another Parley's `openai` engine needs to use this server's model. No moderation, retrieval
or sessions run here, so the routes exist only when `server.engine_api` is on.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from parley.engines.base import EngineError
from parley.engines.generation import Generation
from parley.server.deps import authenticate, state_of
from parley.server.streaming import StreamingReply
from parley.service import ServiceError, Unavailable

router = APIRouter(tags=["engine"])


class CompletionRequest(BaseModel):
    """OpenAI's `/v1/completions` body, with llama.cpp's and vLLM's sampling extras."""

    model_config = ConfigDict(extra="ignore")

    model: str | None = None
    prompt: str
    stream: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None


class TokenizeRequest(BaseModel):
    content: str = Field(max_length=1_000_000)


class TemplateRequest(BaseModel):
    messages: list[dict[str, str]] = Field(min_length=1)


def _generation(request: Request, body: CompletionRequest) -> Generation:
    state = state_of(request)
    values = {
        "max_new_tokens": body.max_tokens,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "top_k": body.top_k,
        "repetition_penalty": body.repetition_penalty,
        "seed": body.seed,
        "stop": [body.stop] if isinstance(body.stop, str) else body.stop,
    }
    params = state.service.params_from(
        {k: v for k, v in values.items() if v is not None}, state.settings.max_new_tokens_cap
    )
    return Generation(state.service.engine, body.prompt, params)


def _chunk(head: dict[str, Any], text: str, reason: str | None) -> bytes:
    event = {**head, "choices": [{"index": 0, "text": text, "finish_reason": reason}]}
    return f"data: {json.dumps(event)}\n\n".encode()


@router.post("/v1/completions")
async def completions(
    body: CompletionRequest, request: Request, owner: str | None = Depends(authenticate)
) -> Any:
    """The model's continuation of `prompt`, streamed when `stream` is true."""
    state = state_of(request)
    generation = _generation(request, body)
    head = {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": body.model or state.service.model_name,
    }
    if not body.stream:
        async with state.gate.admit():
            try:
                text = await anyio.to_thread.run_sync(generation.result)
            except EngineError as exc:
                raise Unavailable(f"the chat model failed: {exc}") from None
        reason = "length" if generation.unfinished else "stop"
        usage = {"completion_tokens": generation.completion_tokens}
        return head | {
            "choices": [{"index": 0, "text": text, "finish_reason": reason}],
            "usage": usage,
        }

    ticket = state.gate.admit()
    await ticket.acquire()
    pieces: Iterator[str] = iter(generation)

    async def events() -> AsyncIterator[bytes]:
        try:
            while True:
                piece = await anyio.to_thread.run_sync(next, pieces, None)
                if piece is None:
                    break
                yield _chunk(head, piece, None)
            yield _chunk(head, "", "length" if generation.unfinished else "stop")
        except EngineError as exc:
            error = {"message": f"the chat model failed: {exc}", "type": "unavailable"}
            yield f"data: {json.dumps({'error': error})}\n\n".encode()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(generation.close)
                ticket.release()
        yield b"data: [DONE]\n\n"

    return StreamingReply(events(), media_type="text/event-stream")


@router.post("/tokenize")
def tokenize(
    body: TokenizeRequest, request: Request, owner: str | None = Depends(authenticate)
) -> dict[str, int]:
    """How many tokens `content` is for this server's model (vLLM's `count`)."""
    return {"count": state_of(request).service.engine.count_tokens(body.content)}


@router.post("/apply-template")
def apply_template(
    body: TemplateRequest, request: Request, owner: str | None = Depends(authenticate)
) -> dict[str, str]:
    """`messages` rendered with the model's chat template, ending with the assistant's cue."""
    engine = state_of(request).service.engine
    if engine.chat_template is None:
        raise ServiceError("this server's model has no chat template")
    return {"prompt": engine.apply_chat_template(body.messages)}
