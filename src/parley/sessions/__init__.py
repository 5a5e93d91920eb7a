"""Session stores: conversations kept outside the serving process, keyed by `session_id`."""

from parley.sessions.base import (
    ANY_OWNER,
    PENDING,
    Feedback,
    InvalidSessionId,
    NotAnAnswer,
    Session,
    SessionError,
    SessionExists,
    SessionFull,
    SessionNotFound,
    SessionStore,
    SessionSummary,
    StoredTurn,
    TurnNotFound,
    TurnPending,
    VersionConflict,
)
from parley.sessions.factory import STORES, build_session_store
from parley.sessions.settings import SessionSettings

__all__ = [
    "ANY_OWNER",
    "PENDING",
    "STORES",
    "Feedback",
    "InvalidSessionId",
    "NotAnAnswer",
    "Session",
    "SessionError",
    "SessionExists",
    "SessionFull",
    "SessionNotFound",
    "SessionSettings",
    "SessionStore",
    "SessionSummary",
    "StoredTurn",
    "TurnNotFound",
    "TurnPending",
    "VersionConflict",
    "build_session_store",
]
