"""The OpenAI-compatible client against a scripted real HTTP server: retries, breaks, timeouts."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from parley.engines.base import EngineUnavailable, UnsupportedRequest
from parley.engines.upstream import UpstreamClient
from parley.server.child import free_port


class Script:
    """What the scripted server does next."""

    def __init__(self) -> None:
        self.failures_before_success = 0
        self.status = 503
        self.break_after: int | None = None
        self.stall = 0.0
        self.requests = 0


def scripted_app(script: Script) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/models")
    async def models() -> dict:
        return {"data": [{"id": "m", "owned_by": "vllm", "max_model_len": 512}]}

    @app.post("/v1/completions")
    async def completions(request: Request):
        script.requests += 1
        if script.failures_before_success > 0:
            script.failures_before_success -= 1
            return JSONResponse({"error": {"message": "busy, try later"}}, script.status)

        async def events() -> AsyncIterator[bytes]:
            for index in range(5):
                if script.break_after is not None and index == script.break_after:
                    raise RuntimeError("the server died")  # uvicorn drops the connection
                if script.stall:
                    await asyncio.sleep(script.stall)
                chunk = {"choices": [{"text": f"w{index} ", "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n".encode()
            final = {"choices": [{"text": "", "finish_reason": "length"}]}
            yield f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode()

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture
def scripted() -> Iterator[tuple[Script, str]]:
    script = Script()
    port = free_port()
    config = uvicorn.Config(scripted_app(script), host="127.0.0.1", port=port, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield script, f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(10)


def texts(client: UpstreamClient) -> list[str]:
    return [e["choices"][0]["text"] for e in client.stream_completion({"prompt": "x"})]


def test_discovery_reads_the_window_from_the_models_list(scripted):
    _, url = scripted
    info = UpstreamClient(url).discover()
    assert (info.kind, info.model, info.context_window) == ("vllm", "m", 512)


def test_busy_server_is_retried_before_the_first_token(scripted):
    script, url = scripted
    script.failures_before_success = 2
    assert texts(UpstreamClient(url, retries=2))[:2] == ["w0 ", "w1 "]
    assert script.requests == 3


def test_retries_give_up_with_the_cause(scripted):
    script, url = scripted
    script.failures_before_success = 5
    with pytest.raises(EngineUnavailable, match=r"answered 503.*busy, try later"):
        texts(UpstreamClient(url, retries=1))
    assert script.requests == 2


def test_client_errors_are_not_retried(scripted):
    script, url = scripted
    script.failures_before_success, script.status = 1, 400
    # A refused request is the client's to change (the server answers it 400), not a 503.
    with pytest.raises(UnsupportedRequest, match="answered 400"):
        texts(UpstreamClient(url, retries=3))
    assert script.requests == 1


def test_a_break_after_the_first_token_is_not_retried(scripted):
    script, url = scripted
    script.break_after = 2
    with pytest.raises(EngineUnavailable, match="broke off after 2 pieces"):
        texts(UpstreamClient(url, retries=3))
    assert script.requests == 1


def test_a_silent_server_times_out_with_a_clear_error(scripted):
    script, url = scripted
    script.stall = 3.0
    began = time.monotonic()
    with pytest.raises(EngineUnavailable, match="did not answer in time"):
        texts(UpstreamClient(url, read_timeout=0.5, retries=0))
    assert time.monotonic() - began < 2.5
