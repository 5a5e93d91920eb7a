"""The SageMaker container contract: `POST /invocations`, JSON or `application/jsonlines`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request

from parley.invocations import SESSION_HEADER, error_line, jsonline
from parley.server.deps import authenticate, state_of
from parley.server.errors import error_body
from parley.server.knowledge import chosen_base
from parley.server.schemas import (
    BODY_ERRORS,
    InvocationRequest,
    InvocationResponse,
    error_responses,
)
from parley.server.streaming import StreamFailed, StreamingReply, complete, open_stream
from parley.service import ChatEvent, ChatRequest, ServiceError

router = APIRouter(tags=["sagemaker"])


@router.post(
    "/invocations",
    response_model=InvocationResponse,
    responses={
        200: {"content": {"application/jsonlines": {}}},
        **error_responses(*BODY_ERRORS, 404, 503),
    },
)
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
        knowledge_base=chosen_base(request, owner, body.knowledge_base, not body.no_retrieval),
    )
    if "application/jsonlines" not in request.headers.get("accept", ""):
        reply = await complete(state, chat, request)
        return InvocationResponse(
            outputs=reply.text,
            session_id=reply.session_id,
            sources=reply.sources,
            moderation=reply.moderation.as_dict(),
            finish_reason=reply.finish_reason,
        )
    started, events = await open_stream(state, chat)
    return StreamingReply(
        _jsonlines(events),
        media_type="application/jsonlines",
        headers={SESSION_HEADER: f"session_id={started.session_id}"},
    )


async def _jsonlines(events: AsyncIterator[ChatEvent | StreamFailed]) -> AsyncIterator[bytes]:
    """The contract's JSON lines (see `parley.invocations`); a pipeline that failed midway ends
    with `{"outputs": [], "error": {...}}`."""
    async for event in events:
        if isinstance(event, StreamFailed):
            yield error_line(error_body(event.error))
            return
        line = jsonline(event)
        if line is not None:
            yield line
