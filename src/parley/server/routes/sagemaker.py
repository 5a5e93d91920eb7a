"""The SageMaker container contract: `POST /invocations`, JSON or `application/jsonlines`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request

from parley.server.app import StreamingReply, authenticate, complete, open_stream, state_of
from parley.server.schemas import InvocationRequest, InvocationResponse
from parley.service import ChatEvent, ChatRequest, Delta, Finished, ServiceError

router = APIRouter(tags=["sagemaker"])

SESSION_HEADER = "X-Amzn-SageMaker-Custom-Attributes"


@router.post("/invocations", response_model=InvocationResponse)
async def invocations(
    body: InvocationRequest, request: Request, owner: str | None = Depends(authenticate)
):
    """Answer `inputs`; `Accept: application/jsonlines` streams `{"outputs": ["piece"]}` lines."""
    state = state_of(request)
    params = state.service.params_from(body.parameters, state.settings.max_new_tokens_cap)
    if params.logprobs is not None:  # the seed's response has no place for them
        raise ServiceError("parameters.logprobs: ask /v1/chat/completions for log-probabilities")
    chat = ChatRequest(
        message=body.inputs,
        session_id=body.session_id,
        owner=owner,
        params=params,
        retrieval=not body.no_retrieval,
        create_missing_session=True,
    )
    if "application/jsonlines" not in request.headers.get("accept", ""):
        reply = await complete(state, chat)
        return InvocationResponse(
            outputs=reply.text,
            session_id=reply.session_id,
            sources=reply.sources,
            moderation=reply.moderation,
            finish_reason=reply.finish_reason,
        )
    started, events = await open_stream(state, chat)
    return StreamingReply(
        _jsonlines(events),
        media_type="application/jsonlines",
        headers={SESSION_HEADER: f"session_id={started.session_id}"},
    )


async def _jsonlines(events: AsyncIterator[ChatEvent]) -> AsyncIterator[bytes]:
    async for event in events:
        if isinstance(event, Delta):
            yield (json.dumps({"outputs": [event.text]}) + "\n").encode()
        elif isinstance(event, Finished):
            reply = event.reply
            tail = {
                "outputs": [],
                "session_id": reply.session_id,
                "sources": reply.sources,
                "moderation": reply.moderation,
                "finish_reason": reply.finish_reason,
            }
            yield (json.dumps(tail) + "\n").encode()
