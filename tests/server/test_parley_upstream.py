"""A Parley whose `openai` engine is a second Parley server (a real process, `engine_api` on)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from parley.config import ModelSettings, Settings
from parley.engines.base import Turn
from parley.engines.factory import build_engine
from parley.engines.formats import build_format
from parley.engines.generation import Generation
from parley.engines.params import GenerationParams
from parley.server.child import free_port, running_server
from parley.service import ChatRequest, Delta, Finished

GREEDY = GenerationParams(temperature=0, max_new_tokens=24)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from parley.engines.llamacpp_engine import llama_cpp_available

    if not llama_cpp_available():
        if os.environ.get("CI"):
            pytest.fail("llama-cpp-python is missing in CI: scripts/setup.sh did not install it")
        pytest.skip("llama-cpp-python is not installed (run `make setup`)")
    folder = tmp_path_factory.mktemp("upstream")
    port = free_port()
    config = folder / "parley.toml"
    config.write_text(
        f'data_dir = "{folder}"\nthreads = 2\n'
        f"[server]\nport = {port}\nengine_api = true\n"
        '[model]\nengine = "llama.cpp"\ncontext_window = 2048\n'
        "[retrieval]\nenabled = false\n"
        '[moderation]\nmoderator = "none"\n'
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "parley.cli", "-c", str(config), "serve"]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, url, log=folder / "server.log", env=env, timeout=120):
        yield url


@pytest.fixture(scope="module")
def remote(upstream: str):
    engine = build_engine(ModelSettings(engine="openai", base_url=f"{upstream}/v1"))
    yield engine
    engine.close()


def ask(engine, question: str, params: GenerationParams) -> Generation:
    fmt = build_format("auto", engine, "You are a helpful assistant.")
    return Generation(engine, fmt.render([Turn("user", question)]), params, fmt.stop_words)


def running(upstream: str) -> int:
    return int(httpx.get(f"{upstream}/health", timeout=10).json()["queue"]["running"])


def test_discovers_a_parley_upstream(remote):
    assert remote.info.kind == "parley"
    assert remote.context_window == 2048
    assert remote.count_tokens("hello world") == 2
    prompt = remote.apply_chat_template([{"role": "user", "content": "Hi"}])
    assert prompt.startswith("<|im_start|>") and prompt.endswith("assistant\n")


def test_streams_and_stops_at_stop_words(remote):
    params = GenerationParams(temperature=0, max_new_tokens=40)
    generation = ask(remote, "Count from one to ten in words.", params)
    pieces = list(generation)
    assert len(pieces) > 3
    text = generation.text
    assert len(text) > 12, text
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    cut = ask(remote, "Count from one to ten in words.", params.updated(stop=[stop])).result()
    assert stop not in cut
    assert cut == text[: text.find(stop)].rstrip()


def test_closing_the_stream_stops_the_upstream(remote, upstream):
    params = GenerationParams(temperature=0.8, seed=1, max_new_tokens=1000)
    generation = ask(remote, "Tell me a very long story about dragons.", params)
    pieces = iter(generation)
    next(pieces), next(pieces)
    assert running(upstream) == 1
    generation.close()
    deadline = time.monotonic() + 5
    while running(upstream):
        assert time.monotonic() < deadline, "the upstream kept generating"
        time.sleep(0.05)


def test_sessions_through_the_pipeline(upstream, tmp_path: Path):
    from parley.wiring import build_service

    settings = Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "model": {"engine": "openai", "base_url": f"{upstream}/v1"},
            "retrieval": {"enabled": False},
            "moderation": {"moderator": "none"},
        }
    )
    service = build_service(settings, progress=False)
    try:
        events = list(service.stream(ChatRequest("My name is Ada. Say hello to me.", GREEDY)))
        deltas = [e for e in events if isinstance(e, Delta)]
        first = events[-1]
        assert isinstance(first, Finished) and len(deltas) > 1
        second = service.complete(
            ChatRequest("What is my name?", GREEDY, session_id=first.reply.session_id)
        )
        assert first.reply.text in second.prompt and "My name is Ada" in second.prompt
        assert second.text
    finally:
        service.close()
