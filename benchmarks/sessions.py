"""Session store speed: append and get latency (p50/p99) and appends/s, printed as JSON.

Per store (SQLite file, PostgreSQL at 127.0.0.1:5432, DynamoDB on a local moto server) with 1
and 8 threads, each thread appending chat exchanges (a user and an assistant turn) to its own
session and reading it back after every append, as the service does per request. Sessions grow
to `--appends` exchanges. Moto is an in-process Python mock: its numbers measure Parley's
client side plus moto, not DynamoDB's service latency (single-digit ms in-region on AWS).

    .venv/bin/python benchmarks/sessions.py [--appends 200] [--threads 1,8] [--stores sqlite,...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _stats import latency_summary
from parley.sessions import SessionStore, StoredTurn

POSTGRES_DSN = os.environ.get(
    "PARLEY_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)


def exchange(thread: int, n: int) -> list[StoredTurn]:
    return [
        StoredTurn(
            role="user",
            text=f"Question {n} from thread {thread}: who was Ada Lovelace?",
            labels={"label": "casual", "action": "allow"},
        ),
        StoredTurn(
            role="assistant",
            text="Ada Lovelace was an English mathematician and writer. " * 4,
            labels={"label": "casual", "action": "allow"},
            sources=[{"title": "Ada Lovelace", "source": "wikipedia", "score": 0.71, "rank": 1}],
            params={"temperature": 0.6, "top_k": 40, "max_new_tokens": 512},
        ),
    ]


def run(store: SessionStore, threads: int, appends: int) -> dict[str, Any]:
    append_ms: list[list[float]] = [[] for _ in range(threads)]
    get_ms: list[list[float]] = [[] for _ in range(threads)]
    sessions = [store.create(f"bench-{uuid.uuid4().hex[:8]}").id for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        barrier.wait()
        for n in range(appends):
            start = time.perf_counter()
            store.append(sessions[t], exchange(t, n))
            middle = time.perf_counter()
            store.get(sessions[t])
            append_ms[t].append((middle - start) * 1000)
            get_ms[t].append((time.perf_counter() - middle) * 1000)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - start
    appended = [x for xs in append_ms for x in xs]
    got = [x for xs in get_ms for x in xs]
    for session_id in sessions:
        store.delete(session_id)
    return {
        "threads": threads,
        "appends": len(appended),
        **latency_summary(appended, key="append_ms_{stat}", mean=True),
        **latency_summary(got, key="get_ms_{stat}"),
        "appends_per_s": round(len(appended) / wall, 1),
        "note": "each thread appends then gets; appends/s counts appends over the wall time",
    }


@contextmanager
def sqlite_store(synchronous: str) -> Iterator[SessionStore]:
    from parley.sessions.sqlite_store import SQLiteSessionStore

    with (
        tempfile.TemporaryDirectory(dir=os.environ.get("PARLEY_BENCH_DIR")) as folder,
        SQLiteSessionStore(Path(folder) / "sessions.db", synchronous=synchronous) as store,  # type: ignore[arg-type]
    ):
        yield store


@contextmanager
def postgres_store() -> Iterator[SessionStore]:
    import psycopg

    from parley.sessions.postgres_store import PostgresSessionStore

    schema = f"parley_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        dsn = f"{POSTGRES_DSN}?options=-csearch_path%3D{schema}"
        with PostgresSessionStore(dsn, pool_min=8, pool_max=8) as store:
            yield store
    finally:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def dynamodb_store() -> Iterator[SessionStore]:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from parley.sessions.dynamodb_store import DynamoDBSessionStore

    class Quiet(MotoRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        # moto's backend is not atomic per item as DynamoDB is (see tests/sessions/conftest.py).
        with lock:
            return list(app(environ, start_response))

    server = make_server("127.0.0.1", 0, one_at_a_time, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        os.environ.setdefault(name, "testing")
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}"
        with DynamoDBSessionStore("bench", endpoint_url=endpoint, waiter_delay_s=1) as store:
            yield store
    finally:
        server.shutdown()
        thread.join()


STORES: dict[str, Callable[[], Any]] = {
    "sqlite": lambda: sqlite_store("FULL"),
    "sqlite-normal": lambda: sqlite_store("NORMAL"),
    "postgres": postgres_store,
    "dynamodb-moto": dynamodb_store,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=200, help="exchanges per thread")
    parser.add_argument("--threads", default="1,8")
    parser.add_argument("--stores", default=",".join(STORES))
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "turns_per_append": 2,
        "stores": {},
    }
    for name in args.stores.split(","):
        try:
            with STORES[name]() as store:
                results["stores"][name] = [
                    run(store, int(t), args.appends) for t in args.threads.split(",")
                ]
        except Exception as exc:  # a missing backend is reported, not fatal
            results["stores"][name] = {"error": f"{type(exc).__name__}: {exc}"}
        print(f"done: {name}", file=sys.stderr)
    results["notes"] = (
        "dynamodb-moto runs against an in-process Python mock that serves one request at a "
        "time: it is not representative of DynamoDB on AWS. sqlite is synchronous=FULL (the "
        "default; one fsync per append), sqlite-normal is synchronous=NORMAL."
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
