"""A real uvicorn server on 127.0.0.1 around a ChatService with a scripted engine."""

from __future__ import annotations

import socket
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
from parley.server.settings import ServerSettings
from parley.service import ChatService
from parley.sessions.sqlite_store import SQLiteSessionStore
from tests.conftest import FakeEngine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningServer:
    url: str
    service: ChatService
    engine: FakeEngine
    store: SQLiteSessionStore

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def start_server(service: ChatService, settings: ServerSettings) -> tuple[uvicorn.Server, str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(service, settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
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
        **service_kwargs,
    ) -> RunningServer:
        engine = engine or FakeEngine()
        store = SQLiteSessionStore(tmp_path / f"sessions-{len(running)}.db")
        service = ChatService(engine, OpenChatKitFormat(), store, **service_kwargs)
        server, url = start_server(service, settings or ServerSettings())
        running.append(server)
        return RunningServer(url, service, engine, store)

    yield make
    for server in running:
        server.should_exit = True
