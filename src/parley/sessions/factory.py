"""Building a session store from settings: the one place that picks a backend."""

from __future__ import annotations

import importlib
from pathlib import Path

from parley.sessions.base import Clock, SessionError, SessionStore
from parley.sessions.settings import SessionSettings

# name -> "module:Class"; imported on use so that SQLite users need neither psycopg nor boto3.
STORES: dict[str, str] = {
    "sqlite": "parley.sessions.sqlite_store:SQLiteSessionStore",
    "postgres": "parley.sessions.postgres_store:PostgresSessionStore",
    "dynamodb": "parley.sessions.dynamodb_store:DynamoDBSessionStore",
}


def store_class(name: str) -> type[SessionStore]:
    """The store class registered as `name`."""
    try:
        module, _, attribute = STORES[name].partition(":")
    except KeyError:
        raise SessionError(f"unknown session store {name!r}; choose {', '.join(STORES)}") from None
    return getattr(importlib.import_module(module), attribute)


def build_session_store(
    settings: SessionSettings, data_dir: Path, *, clock: Clock | None = None
) -> SessionStore:
    """The configured store, connected and with its schema or table in place."""
    cls = store_class(settings.store)
    common = {
        "ttl_seconds": settings.ttl_seconds,
        "max_turns_per_session": settings.max_turns_per_session,
        "clock": clock,
    }
    if settings.store == "sqlite":
        path = settings.sqlite_path or Path(data_dir) / "sessions.db"
        return cls(path, synchronous=settings.sqlite_synchronous, **common)  # type: ignore[call-arg]
    if settings.store == "postgres":
        return cls(  # type: ignore[call-arg]
            settings.postgres_dsn,
            pool_min=settings.postgres_pool_min,
            pool_max=settings.postgres_pool_max,
            **common,
        )
    return cls(  # type: ignore[call-arg]
        settings.dynamodb_table,
        region=settings.dynamodb_region,
        endpoint_url=settings.dynamodb_endpoint_url,
        **common,
    )
