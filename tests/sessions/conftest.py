"""Fixtures: every session store (SQLite, PostgreSQL at 127.0.0.1:5432, DynamoDB on moto)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from parley.sessions.base import SessionStore
from tests.conftest import unavailable

POSTGRES_DSN = os.environ.get(
    "PARLEY_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)
STORE_NAMES = ["sqlite", "postgres", "dynamodb"]


class FakeClock:
    """A clock that moves only when told to (plus 1 ms per reading, so writes are ordered)."""

    def __init__(self) -> None:
        self._now = datetime.now(UTC).replace(microsecond=0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += timedelta(milliseconds=1)
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The test database's DSN, after checking that it answers."""
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed (pip install 'psycopg[binary]' psycopg-pool)")
    try:
        with psycopg.connect(POSTGRES_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        unavailable(f"no PostgreSQL at {POSTGRES_DSN} ({exc}); set PARLEY_TEST_POSTGRES_DSN")
    return POSTGRES_DSN


@pytest.fixture
def postgres_schema_dsn(postgres_dsn: str) -> Iterator[str]:
    """A DSN whose search_path is a fresh schema, dropped after the test."""
    import psycopg

    schema = f"parley_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in postgres_dsn else "?"
    yield f"{postgres_dsn}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


StoreFactory = Callable[..., SessionStore]


@pytest.fixture(params=STORE_NAMES)
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[StoreFactory]:
    """Opens stores of one kind on one fresh database (file, schema or table)."""
    name: str = request.param
    opened: list[SessionStore] = []
    if name == "postgres":
        target: Any = request.getfixturevalue("postgres_schema_dsn")
    elif name == "dynamodb":
        target = (request.getfixturevalue("moto_endpoint"), f"sessions-{uuid.uuid4().hex[:12]}")
    else:
        target = tmp_path / "sessions.db"

    def make(ttl_seconds: int | None = 3600, max_turns_per_session: int = 1000) -> SessionStore:
        common: dict[str, Any] = {
            "ttl_seconds": ttl_seconds,
            "max_turns_per_session": max_turns_per_session,
            "clock": clock,
        }
        store: SessionStore
        if name == "sqlite":
            from parley.sessions.sqlite_store import SQLiteSessionStore

            store = SQLiteSessionStore(target, **common)
        elif name == "postgres":
            from parley.sessions.postgres_store import PostgresSessionStore

            store = PostgresSessionStore(target, pool_min=1, pool_max=8, **common)
        else:
            from parley.sessions.dynamodb_store import DynamoDBSessionStore

            endpoint, table = target
            store = DynamoDBSessionStore(table, endpoint_url=endpoint, waiter_delay_s=1, **common)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> SessionStore:
    """A store with a one-hour TTL and the default turn limit."""
    return make_store()
