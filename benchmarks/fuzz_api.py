"""Long schemathesis run over Parley's OpenAPI document, printed as JSON.

A real uvicorn server on 127.0.0.1 (SQLite sessions, a fast scripted model so that the run
measures the HTTP edge, not generation), open and keyed. Every operation gets `--examples`
cases per generation mode (valid and invalid data); strings may hold NUL bytes and lone
surrogates. Counts cases, statuses, server errors and failed checks (schema mismatches,
undocumented statuses or content types...).

    PYTHONPATH=src:. .venv/bin/python benchmarks/fuzz_api.py [--examples 300]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def serve(keyed: bool, data_dir: Path) -> tuple[Any, str]:
    import uvicorn
    from tests.conftest import FakeEngine
    from tests.server.conftest import free_port

    from parley.engines.formats import OpenChatKitFormat
    from parley.server.app import create_app
    from parley.server.auth import hash_key
    from parley.server.serving import uvicorn_config
    from parley.server.settings import ServerSettings
    from parley.service import ChatService
    from parley.sessions.sqlite_store import SQLiteSessionStore

    engine = FakeEngine()
    store = SQLiteSessionStore(data_dir / f"fuzz-{keyed}.db")
    settings = ServerSettings(
        port=free_port(),
        api_keys=[hash_key("fuzz-key")] if keyed else [],
        rate_limit_per_minute=0,
        auth_failures_per_minute=0,
        max_queued_generations=10_000,
    )
    server = uvicorn.Server(
        uvicorn_config(
            create_app(ChatService(engine, OpenChatKitFormat(), store), settings), settings
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{settings.port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="cases per operation and mode")
    args = parser.parse_args()
    results: dict[str, Any] = {"examples_per_operation_and_mode": args.examples}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for keyed in (False, True):
            server, url = serve(keyed, Path(folder))
            try:
                from tests.server.fuzzing import fuzz

                results["keyed" if keyed else "open"] = fuzz(url, keyed, args.examples)
            finally:
                server.should_exit = True
    results["total_cases"] = results["open"]["cases"] + results["keyed"]["cases"]
    results["wall_s"] = round(time.perf_counter() - began, 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
    main()
