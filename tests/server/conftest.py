"""A real uvicorn server on 127.0.0.1 around a ChatService with a scripted engine."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from parley.engines.formats import OpenChatKitFormat
from parley.server.app import create_app
from parley.server.child import free_port
from parley.server.serving import uvicorn_config
from parley.server.settings import ServerSettings
from parley.service import ChatService
from parley.sessions.base import SessionStore
from parley.sessions.sqlite_store import SQLiteSessionStore
from tests.conftest import FakeEngine


@dataclass
class RunningServer:
    url: str
    service: ChatService
    engine: FakeEngine
    store: SessionStore

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def start_server(service: ChatService, settings: ServerSettings) -> tuple[uvicorn.Server, str]:
    port = free_port()
    settings = settings.model_copy(update={"port": port})
    config = uvicorn_config(create_app(service, settings), settings)
    server = uvicorn.Server(config)

    def run() -> None:
        server.run()
        server._stopped = True  # type: ignore[attr-defined]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator:
    running: list[uvicorn.Server] = []

    def make(
        settings: ServerSettings | None = None,
        engine: FakeEngine | None = None,
        store: SessionStore | None = None,
        **service_kwargs,
    ) -> RunningServer:
        engine = engine or FakeEngine()
        store = store or SQLiteSessionStore(tmp_path / f"sessions-{len(running)}.db")
        service = ChatService(engine, OpenChatKitFormat(), store, **service_kwargs)
        server, url = start_server(service, settings or ServerSettings())
        running.append(server)
        return RunningServer(url, service, engine, store)

    yield make
    for server in running:
        server.should_exit = True
    deadline = time.monotonic() + 10
    while any(server.started and not getattr(server, "_stopped", False) for server in running):
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)


# PostgreSQL fixtures of the session-store tests (a fresh schema per test).
from tests.sessions.conftest import postgres_dsn, postgres_schema_dsn  # noqa: E402, F401


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionStore]:
    """A real SQLite store, then a real PostgreSQL one."""
    if request.param == "sqlite":
        yield SQLiteSessionStore(tmp_path / "any-store.db")
        return
    from parley.sessions.postgres_store import PostgresSessionStore

    store = PostgresSessionStore(request.getfixturevalue("postgres_schema_dsn"))
    yield store
    store.close()
