"""Tool calling through a JSON schema: the schema, the checks, reading replies, and a real
llama.cpp server whose grammar makes the small model call a real tool with valid arguments."""

from __future__ import annotations

import json

import pytest

from parley.config import ModelSettings
from parley.engines.base import Turn
from parley.engines.factory import build_engine
from parley.engines.formats import build_format
from parley.engines.generation import Generation
from parley.engines.params import GenerationParams
from parley.engines.tools import (
    MAX_SCHEMA_DEPTH,
    Tool,
    ToolCall,
    ToolCalling,
    ToolError,
    ToolReply,
    render_calls,
)

WEATHER = Tool(
    "get_weather",
    "The current weather in a city.",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 40},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
)
TIME = Tool("get_time", "The current time in a time zone.", {})


def test_auto_answers_or_calls_any_tool():
    schema = ToolCalling((WEATHER, TIME)).reply_schema()
    answer, calls = schema["anyOf"]
    assert answer["properties"] == {"content": {"type": "string"}}
    items = calls["properties"]["tool_calls"]["items"]["anyOf"]
    assert [item["properties"]["name"] for item in items] == [
        {"const": "get_weather"},
        {"const": "get_time"},
    ]
    assert items[0]["properties"]["arguments"] == WEATHER.parameters
    # A tool without parameters takes an empty object.
    assert items[1]["properties"]["arguments"] == {"type": "object", "properties": {}}


def test_required_and_named_choices_allow_only_calls():
    required = ToolCalling((WEATHER, TIME), "required").reply_schema()
    assert "anyOf" not in required and required["required"] == ["tool_calls"]
    named = ToolCalling((WEATHER, TIME), "get_time", parallel=False).reply_schema()
    listed = named["properties"]["tool_calls"]
    assert listed["items"]["properties"]["name"] == {"const": "get_time"}
    assert listed["maxItems"] == 1


def test_a_json_answer_format_applies_to_the_answer():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    answer = ToolCalling((TIME,), content_schema=schema).reply_schema()["anyOf"][0]
    assert answer["properties"]["content"] == schema
    any_object = ToolCalling((TIME,), content_schema={}).reply_schema()["anyOf"][0]
    assert any_object["properties"]["content"] == {"type": "object"}
    reply = ToolCalling((TIME,), content_schema=schema).parse('{"content": {"n": 3}}')
    assert reply == ToolReply('{"n": 3}')


def test_definitions_are_lifted_to_the_root_where_references_point():
    point = {"type": "object", "properties": {"x": {"type": "number"}}}
    draw = Tool(
        "draw",
        "",
        {
            "type": "object",
            "properties": {"at": {"$ref": "#/$defs/Point"}},
            "$defs": {"Point": point},
        },
    )
    schema = ToolCalling((draw,)).reply_schema()
    assert schema["$defs"] == {"Point": point}
    assert '"$defs":' not in json.dumps(schema["anyOf"])  # only the references stay
    answer = {"$ref": "#/definitions/Reply", "definitions": {"Reply": {"type": "object"}}}
    lifted = ToolCalling((draw,), content_schema=answer).reply_schema()
    assert lifted["definitions"] == {"Reply": {"type": "object"}}
    assert lifted["anyOf"][0]["properties"]["content"] == {"$ref": "#/definitions/Reply"}
    assert "definitions" not in schema  # none defined: no empty entry
    other = Tool("move", "", {"type": "object", "$defs": {"Point": {"type": "string"}}})
    with pytest.raises(ToolError, match="two schemas define \\$defs/Point differently"):
        ToolCalling((draw, other))


@pytest.mark.parametrize(
    ("tools", "choice", "says"),
    [
        ((), "auto", "at least one tool"),
        ((Tool("get weather", "", {}),), "auto", "not 1-64 letters"),
        ((WEATHER, WEATHER), "auto", "same name"),
        ((WEATHER,), "get_time", "no tool is named 'get_time'"),
        ((Tool("f", "", {"type": "string"}),), "auto", "must be a JSON object"),
        ((Tool("f", "x" * 70_000, {}),), "auto", "too long"),
        ((Tool("f", "", {"type": "object", "$defs": [1]}),), "auto", "an object of schemas"),
    ],
)
def test_unusable_definitions_are_errors(tools, choice, says):
    with pytest.raises(ToolError, match=says):
        ToolCalling(tools, choice)


def test_a_deeply_nested_schema_is_an_error_not_a_crash():
    nested: dict = {"type": "object"}
    for _ in range(5000):  # deeper than Python's recursion limit
        nested = {"type": "object", "properties": {"a": nested}}
    with pytest.raises(ToolError, match=f"deeper than {MAX_SCHEMA_DEPTH}"):
        ToolCalling((Tool("f", "", nested),))


def test_reading_replies():
    calling = ToolCalling((WEATHER, TIME))
    call = json.dumps(
        {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "celsius"}}]}
    )
    assert calling.parse(call) == ToolReply(
        None, (ToolCall("get_weather", {"city": "Oslo", "unit": "celsius"}),)
    )
    assert calling.parse('{"content": "Hello."}') == ToolReply("Hello.")
    twice = json.dumps({"tool_calls": [{"name": "get_time", "arguments": {}}] * 2})
    assert calling.parse(twice) == ToolReply(None, (ToolCall("get_time", {}),))
    for broken in ['{"tool_calls": [{"name": "get_weather", "argu', "[]", '{"tool_calls": []}']:
        assert calling.parse(broken) is None
    assert calling.parse('{"tool_calls": [{"name": "rm_rf", "arguments": {}}]}') is None
    # A required call never reads as an answer.
    assert ToolCalling((TIME,), "required").parse('{"content": "Hi"}') is None


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_an_answer_streams_as_it_is_decoded(size):
    answer = 'Say "hi"\nthen — ünï 😀 and a \\ backslash.'
    reply = json.dumps({"content": answer})  # escapes: \", \n, \u00fc, \ud83d\ude00, \\
    stream = ToolCalling((WEATHER,)).answer_stream()
    assert stream is not None
    pieces = [stream.feed(reply[i : i + size]) for i in range(0, len(reply), size)]
    assert "".join(pieces) == answer == stream.text
    if size == 1:
        assert sum(1 for p in pieces if p) > 10  # it streamed, it was not held to the end


def test_only_text_answers_stream():
    stream = ToolCalling((WEATHER,)).answer_stream()
    assert stream is not None
    call = json.dumps({"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]})
    assert [stream.feed(c) for c in call] == [""] * len(call)
    assert ToolCalling((WEATHER,), "required").answer_stream() is None
    assert ToolCalling((WEATHER,), content_schema={}).answer_stream() is None
    odd = ToolCalling((WEATHER,)).answer_stream()
    assert odd is not None and odd.feed('{ "content" : "a\\uZZZZ b"}') == "a\\uZZZZ b"


def test_earlier_calls_are_written_as_the_model_writes_them():
    written = render_calls([("get_weather", '{"city": "Paris"}'), ("get_time", "")])
    assert json.loads(written) == {
        "tool_calls": [
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "get_time", "arguments": {}},
        ]
    }
    assert json.loads(render_calls([("f", "not json")]))["tool_calls"][0]["arguments"] == "not json"


@pytest.fixture(scope="module")
def remote(bare_llama_server):
    engine = build_engine(ModelSettings(engine="openai", base_url=f"{bare_llama_server.url}/v1"))
    yield engine
    engine.close()


@pytest.mark.parametrize("choice", ["required", "get_weather", "auto"])
def test_the_engine_calls_a_real_tool_with_valid_arguments(remote, choice):
    calling = ToolCalling((WEATHER, TIME), choice)
    params = GenerationParams(temperature=0, max_new_tokens=96, json_schema=calling.reply_schema())
    fmt = build_format("auto", remote, "You are a helpful assistant.")
    question = f"What is the weather in Paris right now?\n\n{calling.instructions()}"
    generation = Generation(remote, fmt.render([Turn("user", question)]), params, fmt.stop_words)
    text = generation.result()
    assert generation.finish_reason == "stop", text
    reply = calling.parse(text)
    assert reply is not None, text
    if choice == "auto" and reply.content is not None:
        return  # answering is allowed; the grammar made it valid JSON
    assert reply.calls, text
    for call in reply.calls:
        if choice == "get_weather" or call.name == "get_weather":
            assert call.name == "get_weather"
            assert set(call.arguments) == {"city", "unit"}
            assert call.arguments["unit"] in ("celsius", "fahrenheit")
            assert isinstance(call.arguments["city"], str) and len(call.arguments["city"]) <= 40
