"""Real llama.cpp servers: an unmanaged one (as any OpenAI-compatible server would be), and the
binary Parley manages. Fixtures of the whole test suite (see `tests/conftest.py`)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from parley.embedded import embedded_path
from parley.engines.llama_server import find_llama_server, server_arguments
from parley.server.child import free_port, running_server


@pytest.fixture(scope="session")
def llama_server_binary() -> Path:
    """The llama-server binary set-up built; its absence fails under CI, skips elsewhere."""
    binary = find_llama_server(None)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("llama-server is missing in CI: scripts/setup.sh did not build it")
        pytest.skip("llama-server is not built (scripts/setup.sh builds it)")
    return binary


@pytest.fixture(scope="session")
def gguf_model() -> Path:
    return embedded_path("smollm2-135m-instruct")


@dataclass
class BareServer:
    """A llama-server Parley does not manage (as any OpenAI-compatible server would be)."""

    url: str
    process: subprocess.Popen[bytes]

    def slots(self) -> list[dict]:
        return httpx.get(f"{self.url}/slots", timeout=10).json()


@pytest.fixture(scope="session")
def bare_llama_server(
    llama_server_binary: Path, gguf_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BareServer]:
    port = free_port()
    log = tmp_path_factory.mktemp("bare-llama-server") / "server.log"
    arguments = server_arguments(
        gguf_model, parallel=2, slot_context=2048, threads=1, batch_threads=2
    )
    command = [str(llama_server_binary), *arguments, "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, url, log=log, ready_path="/health", timeout=120) as process:
        yield BareServer(url, process)
