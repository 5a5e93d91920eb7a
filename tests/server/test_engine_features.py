"""What the engine cannot do is refused with a 400 (never ignored); the bare-engine API."""

from __future__ import annotations

import json

import httpx
import pytest

from parley.server.settings import ServerSettings


@pytest.fixture
def server(make_server):
    return make_server()


def post(server, **body):
    body.setdefault("messages", [{"role": "user", "content": "Hi"}])
    return httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=30)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"response_format": {"type": "json_object"}}, "JSON output (response_format, tools)"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
            "JSON output (response_format, tools)",
        ),
        ({"response_format": {"type": "json_schema"}}, "json_schema is required"),
        ({"logprobs": True}, "logprobs"),
        ({"logprobs": True, "stream": True}, "stream=false"),
        ({"top_logprobs": 2}, "needs logprobs=true"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
            "JSON output (response_format, tools) needs an engine that constrains output",
        ),
        ({"tool_choice": "required"}, "tool_choice needs tools"),
    ],
)
def test_what_the_engine_cannot_do_is_a_400(server, body, says):
    server.engine.queue("never", " shown")
    response = post(server, **body)
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]["message"]
    assert server.engine.prompts == []  # nothing was generated


def test_plain_text_format_and_tool_choice_none_are_fine(server):
    server.engine.queue("Hello", " there.")
    response = post(
        server,
        response_format={"type": "text"},
        tool_choice="none",
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello there."


def test_engine_failure_mid_stream_is_an_error_event(make_server):
    from parley.engines.base import EngineUnavailable, TokenPiece
    from tests.conftest import FakeEngine

    class Breaking(FakeEngine):
        def stream(self, prompt, params):
            yield TokenPiece("One")
            yield TokenPiece(" two.")
            raise EngineUnavailable("the model server went away")

    server = make_server(engine=Breaking())
    with httpx.stream(
        "POST",
        f"{server.url}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "Count"}], "stream": True},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    events = [json.loads(line[6:]) for line in lines if line != "data: [DONE]"]
    assert lines[-1] == "data: [DONE]"
    error = events[-1]["error"]
    assert error["code"] == 503 and "went away" in error["message"]


def test_engine_api_is_off_unless_turned_on(make_server):
    closed = make_server()
    response = httpx.post(f"{closed.url}/v1/completions", json={"prompt": "Hi"}, timeout=30)
    assert response.status_code in (404, 405)
    opened = make_server(ServerSettings(engine_api=True))
    opened.engine.queue("Hello", " there", "<human>")
    response = httpx.post(
        f"{opened.url}/v1/completions",
        json={"prompt": "Hi", "stop": ["<human>"], "max_tokens": 10},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["text"] == "Hello there"
    count = httpx.post(f"{opened.url}/tokenize", json={"content": "a b c"}, timeout=30)
    assert count.json() == {"count": 3}
    rendered = httpx.post(
        f"{opened.url}/apply-template",
        json={"messages": [{"role": "user", "content": "Hi"}]},
        timeout=30,
    )
    assert rendered.json() == {"prompt": "[user] Hi\n[assistant]"}
