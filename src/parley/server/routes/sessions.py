"""Sessions API: list, create, read (export), rename, delete and rate the caller's
conversations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response

from parley.server.deps import authenticate, state_of
from parley.server.schemas import (
    BODY_ERRORS,
    FeedbackBody,
    SessionCreate,
    SessionRename,
    error_responses,
)
from parley.service import ServiceError
from parley.sessions.base import (
    MAX_OFFSET,
    Feedback,
    InvalidSessionId,
    NotAnAnswer,
    SessionError,
    SessionNotFound,
    SessionStore,
    TurnNotFound,
    TurnPending,
    check_session_id,
)

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])

SessionIdPath = Annotated[str, Path(min_length=1, max_length=128)]
"""Checked against the stores' format before any store is asked: 400 when malformed."""


def valid_id(session_id: str) -> str:
    """`session_id` when well-formed; 400 otherwise (never echoing a long id back)."""
    try:
        return check_session_id(session_id)
    except InvalidSessionId as exc:
        raise HTTPException(400, str(exc)) from None


def store_of(request: Request) -> SessionStore:
    """The service's session store; a 400 (not a 500) when the server keeps no sessions."""
    store = state_of(request).service.store
    if store is None:
        raise ServiceError("this server keeps no sessions (it was started without a store)")
    return store


def unavailable(exc: SessionError) -> HTTPException:
    return HTTPException(503, f"session store error: {exc}")


@router.get("", responses=error_responses(401, 422, 429, 503))
def list_sessions(
    request: Request,
    owner: str | None = Depends(authenticate),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    """The caller's sessions, most recently updated first."""
    try:
        items = store_of(request).list(owner, limit=limit, offset=offset)
    except SessionError as exc:
        raise unavailable(exc) from None
    return {"object": "list", "data": [s.model_dump(mode="json") for s in items]}


@router.post("", status_code=201, responses=error_responses(*BODY_ERRORS, 503))
def create_session(
    request: Request, body: SessionCreate | None = None, owner: str | None = Depends(authenticate)
) -> dict[str, Any]:
    """A new, empty session owned by the caller."""
    try:
        session = store_of(request).create(owner, title=body.title if body else None)
    except SessionError as exc:
        raise unavailable(exc) from None
    return session.model_dump(mode="json")


@router.get("/{session_id}", responses=error_responses(400, 401, 404, 422, 429, 503))
def get_session(
    session_id: SessionIdPath, request: Request, owner: str | None = Depends(authenticate)
) -> dict[str, Any]:
    """The whole session with its turns (the JSON export)."""
    store = store_of(request)
    try:
        return store.export(valid_id(session_id), owner=owner)
    except SessionNotFound:
        raise HTTPException(404, f"session {session_id} not found") from None
    except SessionError as exc:
        raise unavailable(exc) from None


@router.patch("/{session_id}", responses=error_responses(*BODY_ERRORS, 404, 503))
def rename_session(
    session_id: SessionIdPath,
    body: SessionRename,
    request: Request,
    owner: str | None = Depends(authenticate),
) -> dict[str, Any]:
    """Set the session's title."""
    store = store_of(request)
    try:
        session = store.rename(valid_id(session_id), body.title, owner=owner)
    except SessionNotFound:
        raise HTTPException(404, f"session {session_id} not found") from None
    except SessionError as exc:
        raise unavailable(exc) from None
    return session.model_dump(mode="json", exclude={"turns"})


@router.delete(
    "/{session_id}", status_code=204, responses=error_responses(400, 401, 404, 422, 429, 503)
)
def delete_session(
    session_id: SessionIdPath, request: Request, owner: str | None = Depends(authenticate)
) -> Response:
    """Delete the session; 404 when it is not the caller's."""
    store = store_of(request)
    try:
        deleted = store.delete(valid_id(session_id), owner=owner)
    except SessionError as exc:
        raise unavailable(exc) from None
    if not deleted:
        raise HTTPException(404, f"session {session_id} not found")
    return Response(status_code=204)


@router.post(
    "/{session_id}/turns/{turn}/feedback",
    responses=error_responses(*BODY_ERRORS, 404, 409, 503),
)
def rate_turn(
    session_id: SessionIdPath,
    body: FeedbackBody,
    request: Request,
    turn: int = Path(ge=0, le=100_000, description="0-based index in the session's turns."),
    owner: str | None = Depends(authenticate),
) -> dict[str, Any]:
    """Thumbs up (`good`) or down (`bad`) on an assistant turn, with an optional comment;
    `{"rating": null}` removes it. A reply still being written is 409: rate it once it is
    finished. Ratings travel with `parley sessions export`."""
    store = store_of(request)
    feedback = Feedback(rating=body.rating, comment=body.comment) if body.rating else None
    try:
        store.set_feedback(valid_id(session_id), turn, feedback, owner=owner)
    except SessionNotFound:
        raise HTTPException(404, f"session {session_id} not found") from None
    except TurnNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotAnAnswer as exc:
        raise HTTPException(400, str(exc)) from None
    except TurnPending as exc:
        raise HTTPException(409, str(exc)) from None
    except SessionError as exc:
        raise unavailable(exc) from None
    state_of(request).metrics.feedback.labels(body.rating or "removed").inc()
    return {
        "session_id": session_id,
        "turn": turn,
        "feedback": feedback.model_dump(mode="json") if feedback else None,
    }
