"""Building a session store from settings: the one place that picks a backend."""

from __future__ import annotations

from pathlib import Path

from parley.registry import FromSettings, Registry, Shared
from parley.sessions.base import Clock, SessionError, SessionStore
from parley.sessions.settings import SessionSettings

STORES: Registry[SessionSettings, SessionStore] = Registry(
    "session store",
    {
        "sqlite": "parley.sessions.sqlite_store:SQLiteSessionStore",
        "postgres": "parley.sessions.postgres_store:PostgresSessionStore",
        "dynamodb": "parley.sessions.dynamodb_store:DynamoDBSessionStore",
    },
    error=SessionError,
)
"""Store name -> class; imported on use so that SQLite users need neither psycopg nor boto3."""


def store_class(name: str) -> FromSettings[SessionSettings, SessionStore]:
    """The store class registered as `name`."""
    return STORES.resolve(name)


def build_session_store(
    settings: SessionSettings,
    data_dir: Path | None = None,
    *,
    clock: Clock | None = None,
    shared: Shared | None = None,
) -> SessionStore:
    """The configured store, connected and with its schema or table in place."""
    if shared is None:
        shared = Shared(data_dir=Path(data_dir) if data_dir is not None else None, clock=clock)
    return STORES.build(settings.store, settings, shared)
