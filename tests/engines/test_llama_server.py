"""The managed `llama-server` engine: a real child process, concurrency, crashes, orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from parley.config import ModelSettings
from parley.engines.base import EngineUnavailable, Turn
from parley.engines.factory import build_engine
from parley.engines.formats import build_format
from parley.engines.generation import Generation
from parley.engines.params import GenerationParams
from parley.service import ChatRequest, ChatService, Unavailable

SETTINGS = ModelSettings(
    engine="llama-server", parallel=4, context_window=1024, threads=2, read_timeout=60
)


@pytest.fixture(scope="module")
def managed(llama_server_binary, tmp_path_factory):
    from parley.engines.llama_server import LlamaServerEngine

    engine = build_engine(SETTINGS, tmp_path_factory.mktemp("managed"))
    assert isinstance(engine, LlamaServerEngine)
    yield engine
    engine.close()
    assert engine.managed.process is not None and engine.managed.process.poll() is not None


def prompt_for(engine, question: str) -> str:
    return build_format("auto", engine).render([Turn("user", question)])


def slots(engine) -> list[dict]:
    managed = engine.managed
    headers = {"Authorization": f"Bearer {managed.api_key}"}
    return httpx.get(f"{managed.url}/slots", headers=headers, timeout=10).json()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_runs_on_a_private_loopback_port_with_parallel_slots(managed):
    assert managed.managed.url.startswith("http://127.0.0.1:")
    assert len(slots(managed)) == 4
    assert managed.context_window == 1024
    # without the key, the child answers nobody
    assert httpx.get(f"{managed.managed.url}/slots", timeout=10).status_code == 401


def test_four_requests_are_decoded_together(managed):
    params = GenerationParams(temperature=0.8, seed=3, max_new_tokens=48)
    prompt = prompt_for(managed, "Write a short poem about the sea.")
    seen_busy: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen_busy.append(sum(slot["is_processing"] for slot in slots(managed)))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    results: list[Generation] = []

    def generate() -> None:
        generation = Generation(managed, prompt, params)
        generation.result()
        results.append(generation)

    workers = [threading.Thread(target=generate) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    done.set()
    watcher.join()
    assert len(results) == 4
    assert all(g.completion_tokens > 0 for g in results)
    assert max(seen_busy) == 4, seen_busy


def test_closing_a_stream_frees_its_slot(managed):
    params = GenerationParams(temperature=0.8, seed=5, max_new_tokens=1000)
    generation = Generation(managed, prompt_for(managed, "Tell a very long story."), params)
    pieces = iter(generation)
    next(pieces), next(pieces)
    assert sum(slot["is_processing"] for slot in slots(managed)) == 1
    generation.close()
    wait_idle(managed)


def wait_idle(engine) -> None:
    deadline = time.monotonic() + 5
    while any(slot["is_processing"] for slot in slots(engine)):
        assert time.monotonic() < deadline, "a slot kept generating for nobody"
        time.sleep(0.05)


def test_requests_take_the_lowest_free_slots(managed):
    # Left to itself llama-server hands each request the least recently used slot, which would
    # be 1, 2, 3 here; llama.cpp then attends over every slot between the busy ones.
    params = GenerationParams(temperature=0.8, seed=7, max_new_tokens=1000)
    questions = ["Tell a long story.", "Describe the sea at length.", "Explain rain in detail."]
    for question in questions:
        generation = Generation(managed, prompt_for(managed, question), params)
        pieces = iter(generation)
        next(pieces), next(pieces)
        busy = [slot["id"] for slot in slots(managed) if slot["is_processing"]]
        generation.close()
        wait_idle(managed)
        assert busy == [0], question
    first, second = (Generation(managed, prompt_for(managed, q), params) for q in questions[:2])
    streams = [iter(first), iter(second)]
    for stream in streams:
        next(stream), next(stream)
    busy = [slot["id"] for slot in slots(managed) if slot["is_processing"]]
    first.close()
    second.close()
    wait_idle(managed)
    assert busy == [0, 1]


def test_slot_picker_hands_out_the_lowest_free_slot():
    from parley.engines.llama_server import SlotPicker

    picker = SlotPicker(2)
    with picker.claim() as a, picker.claim() as b, picker.claim() as c:
        assert (a, b, c) == (0, 1, None)  # all taken: unpinned, the server queues it
    with picker.claim() as a:
        with picker.claim() as b:
            assert (a, b) == (0, 1)
        with picker.claim() as again:
            assert again == 1  # 1 came back while 0 stayed busy
    with picker.claim() as a:
        assert a == 0


def test_a_slot_holding_most_of_the_prompt_is_taken_again():
    from parley.engines.llama_server import REUSE_MIN_CHARS, SlotPicker

    picker = SlotPicker(3)
    history = "System: be brief.\n" + "User: tell me more. " * (REUSE_MIN_CHARS // 10)
    with picker.claim("System: be brief.\nUser: hi"), picker.claim(history) as held:
        assert held == 1
    # slot 0 shares only the system line with the next turn; slot 1 holds its whole history
    with picker.claim(history + "Bot: sure.\nUser: and then?") as again:
        assert again == 1
    with picker.claim("System: be brief.\nUser: something else") as other:
        assert other == 0  # a short shared prefix is not worth spreading the slots for


def test_common_prefix_length():
    from parley.engines.llama_server import _common_prefix

    assert _common_prefix("", "abc") == 0
    assert _common_prefix("abc", "abd") == 2
    assert _common_prefix("abc", "abc") == 3
    assert _common_prefix("x" * 5000 + "a", "x" * 5000 + "b") == 5000


def test_a_killed_child_fails_requests_in_flight_then_recovers(managed):
    from parley.engines.formats import OpenChatKitFormat

    service = ChatService(managed, OpenChatKitFormat(), None)
    params = GenerationParams(temperature=0.8, seed=9, max_new_tokens=600)
    first_pid = managed.managed.pid
    restarts = managed.managed.restarts
    events = service.stream(ChatRequest("Tell a very long story.", params, history=[]))
    next(events)  # Started
    next(events)  # the first words
    os.kill(first_pid, signal.SIGKILL)
    with pytest.raises(Unavailable) as failure:
        for _ in events:
            pass
    assert failure.value.kind == "unavailable"  # HTTP 503
    assert "broke off" in str(failure.value)
    # the next request waits for the restarted child and succeeds
    reply = service.complete(
        ChatRequest("Say hello.", GenerationParams(max_new_tokens=8), history=[])
    )
    assert reply.text and reply.completion_tokens > 0
    assert managed.managed.restarts == restarts + 1
    assert managed.managed.pid != first_pid
    assert not alive(first_pid)


def test_engine_error_kind_is_unavailable_when_the_child_is_gone(managed):
    generation = Generation(
        managed, prompt_for(managed, "Count to one hundred."), GenerationParams(max_new_tokens=500)
    )
    pieces = iter(generation)
    next(pieces)
    os.kill(managed.managed.pid, signal.SIGKILL)
    with pytest.raises(EngineUnavailable):
        list(pieces)
    managed.managed.wait_ready()


ORPHAN_SCRIPT = """
import sys, time
from parley.config import ModelSettings
from parley.engines.factory import build_engine
engine = build_engine(ModelSettings(engine="llama-server", parallel=1, context_window=512,
                                    threads=1))
print(engine.managed.pid, flush=True)
time.sleep(600)
"""


def test_no_orphan_after_the_parent_is_killed(llama_server_binary):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        line = parent.stdout.readline() if parent.stdout else ""
        assert line.strip().isdigit(), f"the parent did not start llama-server: {line!r}"
        child = int(line)
        assert alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while alive(child):
            assert time.monotonic() < deadline, f"llama-server {child} outlived its parent"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()
