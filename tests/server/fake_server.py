"""A Parley server in its own process, for tests that kill it: `python -m tests.server.fake_server
--port P --store sqlite:PATH|postgres:DSN`. Its fake model streams slowly and never ends on its
own, so a test can kill the process mid-generation."""

from __future__ import annotations

import argparse

import uvicorn

from parley.engines.formats import OpenChatKitFormat
from parley.server.app import create_app
from parley.server.serving import uvicorn_config
from parley.server.settings import ServerSettings
from parley.service import ChatService
from parley.sessions.base import SessionStore
from tests.conftest import FakeEngine


def open_store(spec: str) -> SessionStore:
    kind, _, where = spec.partition(":")
    if kind == "sqlite":
        from parley.sessions.sqlite_store import SQLiteSessionStore

        return SQLiteSessionStore(where)
    from parley.sessions.postgres_store import PostgresSessionStore

    return PostgresSessionStore(where)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--store", required=True)
    args = parser.parse_args()
    engine = FakeEngine([[" word"] * 100_000] * 10, context_window=100_000, delay=0.05)
    service = ChatService(engine, OpenChatKitFormat(), open_store(args.store))
    settings = ServerSettings(port=args.port, rate_limit_per_minute=0)
    uvicorn.Server(uvicorn_config(create_app(service, settings), settings)).run()


if __name__ == "__main__":
    main()
