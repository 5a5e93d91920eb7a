"""Tool calling through `/v1/chat/completions`, as the `openai` package sees it: calls come back
as `tool_calls` (whole and streamed), results go back in, and bad definitions are a 400. The
engine here replays JSON; the real llama.cpp run is at the end."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from parley.config import ModelSettings
from parley.engines.factory import build_engine
from parley.engines.params import GenerationParams
from tests.conftest import FakeEngine

MODEL = "parley"
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
CALL = '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}'


class JsonEngine(FakeEngine):
    """Replays queued replies and constrains nothing, but takes JSON requests (and keeps
    the parameters it was given)."""

    def __init__(self) -> None:
        super().__init__()
        self.params: list[GenerationParams] = []

    def check_params(self, params: GenerationParams) -> None:
        self.params.append(params)


@pytest.fixture
def server(make_server: Any) -> Any:
    return make_server(engine=JsonEngine())


def client_for(server: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def test_a_call_comes_back_as_tool_calls(server: Any) -> None:
    server.engine.queue(
        '{"tool_calls": [{"name": "get_weather", ', '"arguments": {"city": "Paris"}}]}'
    )
    completion = client_for(server).chat.completions.create(
        model=MODEL, messages=ASK, tools=[WEATHER_TOOL]
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.id.startswith("call_") and call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    # The model was told the tools, and its reply was constrained to the call schema.
    assert "get_weather: The current weather in a city." in server.engine.prompts[-1]
    schema = server.engine.params[-1].json_schema
    assert schema is not None and len(schema["anyOf"]) == 2


def test_streamed_calls_and_answers(server: Any) -> None:
    client = client_for(server)
    server.engine.queue(*CALL)  # one character per piece: nothing of the JSON leaks
    chunks = list(
        client.chat.completions.create(model=MODEL, messages=ASK, tools=[WEATHER_TOOL], stream=True)
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert not "".join(d.content or "" for d in deltas)
    calls = [call for d in deltas for call in d.tool_calls or []]
    assert [(c.index, c.function.name) for c in calls] == [(0, "get_weather")]
    assert json.loads(calls[0].function.arguments or "") == {"city": "Paris"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    # An answer streams piece by piece, decoded from its JSON as it comes.
    server.engine.queue('{"content": "I can', " answer", ' that \\"myself\\"."}')
    chunks = list(
        client.chat.completions.create(model=MODEL, messages=ASK, tools=[WEATHER_TOOL], stream=True)
    )
    contents = [c.choices[0].delta.content for c in chunks if c.choices]
    assert [c for c in contents if c] == ["I can", " answer", ' that "myself".']
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_a_results_round_trip_ends_in_an_answer(server: Any) -> None:
    client = client_for(server)
    server.engine.queue(CALL)
    first = client.chat.completions.create(model=MODEL, messages=ASK, tools=[WEATHER_TOOL])
    call = (first.choices[0].message.tool_calls or [])[0]
    messages: list[Any] = [
        *ASK,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"},
    ]
    server.engine.queue('{"content": "It is 18 C and sunny in Paris."}')
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "It is 18 C and sunny in Paris."
    assert second.choices[0].finish_reason == "stop"
    prompt = server.engine.prompts[-1]
    # The call is what the assistant said; the result, named by its call id, is the next input.
    assert f"<bot>: {CALL}\n<human>: Result of get_weather: 18 C and sunny\n\n" in prompt


def test_unfinished_json_is_returned_as_text_with_its_finish_reason(server: Any) -> None:
    server.engine.queue('{"tool_calls": [{"name": ', '"get_weather", ', '"arguments": {"ci')
    completion = client_for(server).chat.completions.create(
        model=MODEL, messages=ASK, tools=[WEATHER_TOOL], max_tokens=2
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "length" and not choice.message.tool_calls
    assert choice.message.content == '{"tool_calls": [{"name": "get_weather",'


def test_json_answers_keep_their_arrays_and_no_caution_note(make_server: Any) -> None:
    # JSON arrays look like citation marks ([1, 2] with no sources), and a caution note after
    # the object would make it invalid: neither touches a JSON reply.
    from parley.service import Verdict

    class Cautious:
        def check_input(self, text: str) -> Verdict:
            return Verdict(
                "caution", "needs caution", {}, "Please be careful.", "Answer carefully."
            )

        def check_topic(self, text: str, best_similarity: float | None) -> Verdict:
            return Verdict("allow", "casual")

        def output_check(self) -> Any:
            return None

    server = make_server(engine=JsonEngine(), moderation=Cautious())
    server.engine.queue('{"ids": [1, 2], "note": "see [3]"}')
    completion = client_for(server).chat.completions.create(
        model=MODEL, messages=ASK, response_format={"type": "json_object"}
    )
    assert json.loads(completion.choices[0].message.content or "") == {
        "ids": [1, 2],
        "note": "see [3]",
    }
    assert completion.model_extra["parley_moderation"]["input"]["action"] == "caution"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"tools": [{"type": "function", "function": {"name": "a b"}}]}, "not 1-64 letters"),
        (
            {
                "tools": [WEATHER_TOOL],
                "tool_choice": {"type": "function", "function": {"name": "x"}},
            },
            "no tool is named 'x'",
        ),
        ({"tool_choice": "required"}, "tool_choice needs tools"),
        ({"tools": [{"type": "custom", "custom": {"name": "x"}}]}, "function"),
        (
            {
                "tools": [
                    {"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}
                ]
            },
            "must be a JSON object",
        ),
        ({"functions": [{"name": "f"}]}, "deprecated"),
        ({"tool_choice": "sometimes", "tools": [WEATHER_TOOL]}, "tool_choice"),
    ],
)
def test_bad_tool_requests_are_a_400(server: Any, body: dict[str, Any], says: str) -> None:
    server.engine.queue("never")
    response = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": ASK, **body})
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]["message"]
    assert server.engine.prompts == []


def test_real_engine_returns_a_valid_call(make_server: Any, bare_llama_server: Any) -> None:
    engine = build_engine(ModelSettings(engine="openai", base_url=f"{bare_llama_server.url}/v1"))
    try:
        server = make_server(engine=engine)
        tools = [
            WEATHER_TOOL,
            {"type": "function", "function": {"name": "get_time", "description": "The time."}},
        ]
        client = client_for(server)
        for stream in (False, True):
            completion = client.chat.completions.create(
                model=MODEL,
                messages=ASK,
                tools=tools,
                tool_choice="required",
                temperature=0,
                max_tokens=96,
                stream=stream,
            )
            if stream:
                chunks = list(completion)
                calls = [
                    c for ch in chunks if ch.choices for c in ch.choices[0].delta.tool_calls or []
                ]
                reason = chunks[-1].choices[0].finish_reason
            else:
                calls = completion.choices[0].message.tool_calls or []
                reason = completion.choices[0].finish_reason
            assert reason == "tool_calls" and calls
            for call in calls:
                arguments = json.loads(call.function.arguments)
                assert call.function.name in ("get_weather", "get_time")
                if call.function.name == "get_weather":
                    assert isinstance(arguments["city"], str)
    finally:
        engine.close()


def test_a_schema_the_engine_refuses_is_a_400(make_server: Any, bare_llama_server: Any) -> None:
    engine = build_engine(ModelSettings(engine="openai", base_url=f"{bare_llama_server.url}/v1"))
    try:
        server = make_server(engine=engine)
        broken = {
            "type": "function",
            "function": {
                "name": "f",
                "parameters": {"type": "object", "properties": {"a": {"$ref": "#/$defs/gone"}}},
            },
        }
        response = httpx.post(
            f"{server.url}/v1/chat/completions",
            json={"messages": ASK, "tools": [broken], "max_tokens": 8},
            timeout=60,
        )
        assert response.status_code == 400, response.text
        assert "cannot resolve $ref" in response.json()["error"]["message"]
        # The turn is not kept half-done as a success, and the server still answers.
        assert (
            httpx.post(
                f"{server.url}/v1/chat/completions",
                json={"messages": ASK, "max_tokens": 4},
                timeout=60,
            ).status_code
            == 200
        )
    finally:
        engine.close()


@pytest.mark.parametrize("depth", [40, 10_000])
def test_deeply_nested_parameters_are_a_400(server: Any, depth: int) -> None:
    # Written out: deeper than Python's own json can serialise.
    nested = '{"type": "object", "properties": {"a": ' * depth + '{"type": "object"}' + "}}" * depth
    tool = f'{{"type": "function", "function": {{"name": "f", "parameters": {nested}}}}}'
    body = f'{{"messages": {json.dumps(ASK)}, "tools": [{tool}]}}'
    response = httpx.post(
        f"{server.url}/v1/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code in (400, 413), response.text
    assert server.engine.prompts == []
