"""A server run as a child process: started, waited for until it answers, always stopped.

Benchmarks, the README test and the upstream-engine tests all start real servers (`parley
serve`, llama.cpp's `llama-server`) this way, so one readiness loop serves them all.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    command: Sequence[str],
    url: str,
    *,
    log: Path,
    ready_path: str = "/ping",
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` (its output to `log`) until `url + ready_path` answers 200, yield the
    process, then stop it (SIGTERM, SIGKILL after 20 s). A child that exits or does not answer
    within `timeout` seconds raises RuntimeError with the end of its log."""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            list(command), stdout=output, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited ({process.returncode}): {_tail(log)}")
            try:
                if httpx.get(url + ready_path, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not answer in {timeout:.0f} s: {_tail(log)}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-chars:]
