"""Sessions API: list, create, read (export), rename, delete and rate the caller's
conversations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response

from parley.server.deps import authenticate, state_of
from parley.server.schemas import FeedbackBody, SessionCreate, SessionRename
from parley.service import ServiceError
from parley.sessions.base import (
    Feedback,
    InvalidSessionId,
    NotAnAnswer,
    SessionNotFound,
    SessionStore,
    TurnNotFound,
)

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


def store_of(request: Request) -> SessionStore:
    """The service's session store; a 400 (not a 500) when the server keeps no sessions."""
    store = state_of(request).service.store
    if store is None:
        raise ServiceError("this server keeps no sessions (it was started without a store)")
    return store


@router.get("")
def list_sessions(
    request: Request,
    owner: str | None = Depends(authenticate),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    """The caller's sessions, most recently updated first."""
    store = store_of(request)
    items = store.list(owner, limit=limit, offset=offset)
    return {"object": "list", "data": [s.model_dump(mode="json") for s in items]}


@router.post("", status_code=201)
def create_session(
    request: Request, body: SessionCreate | None = None, owner: str | None = Depends(authenticate)
) -> dict[str, Any]:
    """A new, empty session owned by the caller."""
    store = store_of(request)
    session = store.create(owner, title=body.title if body else None)
    return session.model_dump(mode="json")


@router.get("/{session_id}")
def get_session(
    session_id: str, request: Request, owner: str | None = Depends(authenticate)
) -> dict[str, Any]:
    """The whole session with its turns (the JSON export)."""
    store = store_of(request)
    try:
        return store.export(session_id, owner=owner)
    except (SessionNotFound, InvalidSessionId):
        raise HTTPException(404, f"session {session_id} not found") from None


@router.patch("/{session_id}")
def rename_session(
    session_id: str,
    body: SessionRename,
    request: Request,
    owner: str | None = Depends(authenticate),
) -> dict[str, Any]:
    """Set the session's title."""
    store = store_of(request)
    try:
        session = store.rename(session_id, body.title, owner=owner)
    except (SessionNotFound, InvalidSessionId):
        raise HTTPException(404, f"session {session_id} not found") from None
    return session.model_dump(mode="json", exclude={"turns"})


@router.delete("/{session_id}", status_code=204)
def delete_session(
    session_id: str, request: Request, owner: str | None = Depends(authenticate)
) -> Response:
    """Delete the session; 404 when it is not the caller's."""
    store = store_of(request)
    try:
        deleted = store.delete(session_id, owner=owner)
    except InvalidSessionId:
        deleted = False
    if not deleted:
        raise HTTPException(404, f"session {session_id} not found")
    return Response(status_code=204)


@router.post("/{session_id}/turns/{turn}/feedback")
def rate_turn(
    session_id: str,
    body: FeedbackBody,
    request: Request,
    turn: int = Path(ge=0, le=100_000, description="0-based index in the session's turns."),
    owner: str | None = Depends(authenticate),
) -> dict[str, Any]:
    """Thumbs up (`good`) or down (`bad`) on an assistant turn, with an optional comment;
    `{"rating": null}` removes it. Ratings travel with `parley sessions export`."""
    store = store_of(request)
    feedback = Feedback(rating=body.rating, comment=body.comment) if body.rating else None
    try:
        store.set_feedback(session_id, turn, feedback, owner=owner)
    except (SessionNotFound, InvalidSessionId):
        raise HTTPException(404, f"session {session_id} not found") from None
    except TurnNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except NotAnAnswer as exc:
        raise HTTPException(400, str(exc)) from None
    state_of(request).metrics.feedback.labels(body.rating or "removed").inc()
    return {
        "session_id": session_id,
        "turn": turn,
        "feedback": feedback.model_dump(mode="json") if feedback else None,
    }
