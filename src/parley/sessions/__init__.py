"""Session stores: conversations kept outside the serving process, keyed by `session_id`."""

from parley.sessions.base import (
    ANY_OWNER,
    InvalidSessionId,
    Session,
    SessionError,
    SessionExists,
    SessionFull,
    SessionNotFound,
    SessionStore,
    SessionSummary,
    StoredTurn,
    VersionConflict,
)
from parley.sessions.factory import STORES, build_session_store
from parley.sessions.settings import SessionSettings

__all__ = [
    "ANY_OWNER",
    "STORES",
    "InvalidSessionId",
    "Session",
    "SessionError",
    "SessionExists",
    "SessionFull",
    "SessionNotFound",
    "SessionSettings",
    "SessionStore",
    "SessionSummary",
    "StoredTurn",
    "VersionConflict",
    "build_session_store",
]
