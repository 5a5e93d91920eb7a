"""`kill -9` mid-generation: the accepted user message is in the store after a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from parley.server.child import free_port

ROOT = Path(__file__).resolve().parents[2]


def serve(store: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.server.fake_server", "--port", str(port), "--store", store],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the server did not start")
        time.sleep(0.1)


@pytest.fixture(params=["sqlite", "postgres"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'sessions.db'}"
    return f"postgres:{request.getfixturevalue('postgres_schema_dsn')}"


@pytest.mark.parametrize("streaming", [True, False])
def test_kill_9_mid_generation_keeps_the_message(store_spec, streaming):
    process, url = serve(store_spec)
    try:
        session_id = f"killed-{int(streaming)}"
        body = {"inputs": "do not lose me", "session_id": session_id}
        if streaming:
            with httpx.stream(
                "POST",
                f"{url}/invocations",
                json=body,
                headers={"Accept": "application/jsonlines"},
                timeout=30,
            ) as response:
                lines = response.iter_lines()
                assert json.loads(next(lines))["outputs"]  # generating
                process.send_signal(signal.SIGKILL)
                process.wait(10)
        else:
            # The client stays connected until the kill: a client that hung up first would let
            # the server record the turn as cancelled, which is a different (tested) story.
            outcome: list[BaseException] = []

            def post() -> None:
                try:
                    httpx.post(f"{url}/invocations", json=body, timeout=30)
                except BaseException as error:  # the kill is expected to break it
                    outcome.append(error)

            client = threading.Thread(target=post)
            client.start()
            time.sleep(1.0)  # accepted and generating (the fake engine is slow)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            client.join(30)
            assert outcome and isinstance(outcome[0], httpx.TransportError)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    # A new server on the same store finds the accepted message.
    process, url = serve(store_spec)
    try:
        exported = httpx.get(f"{url}/v1/sessions/{session_id}", timeout=10).json()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    turns = exported["turns"]
    assert turns[0]["role"] == "user" and turns[0]["text"] == "do not lose me"
    assert turns[1]["labels"]["finish_reason"] == "pending"
