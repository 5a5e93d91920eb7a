"""The OpenAI API as real clients see it: the official `openai` package (sync, async,
streaming) and `langchain-openai`, against a real uvicorn server."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest

from parley.server.settings import ServerSettings
from tests.conftest import FakeEngine

MODEL = "SmolLM2-135M-Instruct"
HARMFUL = ["Here is a plan. ", "Build a pipe bomb and use it to hurt people at the station. "]


@pytest.fixture
def server(make_server: Any) -> Any:
    return make_server(model_name=MODEL)


def client_for(server: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def hello(model: str = MODEL) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}]}


# -- models --------------------------------------------------------------------------------------


def test_models_list_retrieve_and_the_id_replies_echo(server: Any) -> None:
    client = client_for(server)
    assert [m.id for m in client.models.list().data] == [MODEL]
    model = client.models.retrieve(MODEL)
    assert (model.id, model.object, model.owned_by) == (MODEL, "model", "parley")
    assert client.models.retrieve("parley").id == MODEL  # the alias every request may use
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-4o")
    assert caught.value.code == "model_not_found"

    for requested in (MODEL, "parley"):
        server.engine.queue("Hello.")
        completion = client.chat.completions.create(**hello(requested))
        assert completion.model == MODEL  # what /v1/models lists, whatever alias was used


def test_a_model_this_server_does_not_run_is_404(server: Any) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client_for(server).chat.completions.create(**hello("gpt-4o"))
    error = caught.value
    assert error.code == "model_not_found" and error.param == "model"
    assert MODEL in error.message
    assert server.engine.prompts == []


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "param", "fragment"),
    [
        ({"max_tokens": 10**6}, "max_tokens", "max_tokens=1000000 is above"),
        ({"max_completion_tokens": 5000}, "max_completion_tokens", "max_completion_tokens="),
        ({"max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
        ({"n": 2}, "n", "only n=1"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role", "'tool'"),
        ({"messages": [{"role": "user", "content": None}]}, "messages[0]", "content"),
        ({"messages": []}, "messages", "at least 1"),
    ],
)
def test_errors_are_openai_bad_requests(
    server: Any, extra: dict[str, Any], param: str, fragment: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client_for(server).chat.completions.create(**(hello() | extra))
    error = caught.value
    assert error.status_code == 400
    assert error.type == "invalid_request_error"
    assert error.param == param
    assert fragment in error.message
    assert "max_new_tokens" not in error.message
    assert set(error.body) == {"message", "type", "param", "code"}  # type: ignore[arg-type]


def test_error_body_shape_over_plain_http(server: Any) -> None:
    with server.client() as http:
        response = http.post("/v1/chat/completions", json={"messages": "nope"})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error" and error["param"] == "messages"
        response = http.get("/v1/sessions/no-such-session")
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_wrong_key_is_an_authentication_error(make_server: Any) -> None:
    server = make_server(ServerSettings(api_keys=["right-key"]), model_name=MODEL)
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.models.list()
    assert caught.value.code == "invalid_api_key"


# -- streaming and usage -------------------------------------------------------------------------


def test_include_usage_sends_a_last_chunk_with_no_choices(server: Any) -> None:
    server.engine.queue(" Hello", " there.")
    chunks = list(
        client_for(server).chat.completions.create(
            **hello(), stream=True, stream_options={"include_usage": True}
        )
    )
    last, finish = chunks[-1], chunks[-2]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == 2  # the fake engine's two pieces
    assert last.usage.total_tokens == last.usage.prompt_tokens + 2 > 2
    assert finish.choices[0].finish_reason == "stop" and finish.usage is None
    assert all(c.usage is None for c in chunks[:-1])
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == "Hello there."


def test_without_include_usage_every_chunk_has_a_choice(server: Any) -> None:
    server.engine.queue(" Hello.")
    chunks = list(client_for(server).chat.completions.create(**hello(), stream=True))
    assert all(len(c.choices) == 1 and c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.model == MODEL for c in chunks)
    # Parley's own fields travel on the first chunk only.
    assert chunks[0].model_extra == {
        "session_id": None,
        "sources": [],
        "parley_moderation": {"input": {"action": "allow", "label": "casual", "scores": {}}},
    }
    assert all(not c.model_extra for c in chunks[1:])


def test_async_client_streams_and_completes(server: Any) -> None:
    server.engine.queue(" One", " two.")
    server.engine.queue(" Three.")

    async def run() -> tuple[str, str | None]:
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        stream = await client.chat.completions.create(**hello(), stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        completion = await client.chat.completions.create(**hello())
        await client.close()
        return text, completion.choices[0].message.content

    # In a thread of its own: the browser tests' Playwright keeps a loop in this one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, run()).result() == ("One two.", "Three.")


# -- tool use in the history ---------------------------------------------------------------------

TOOL_HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "18 C and sunny"},
    {"role": "assistant", "content": "It is 18 C and sunny in Paris."},
    {"role": "user", "content": "Should I take an umbrella?"},
]


def test_tool_calls_and_results_in_the_history_are_accepted(server: Any) -> None:
    server.engine.queue("No umbrella needed.")
    completion = client_for(server).chat.completions.create(model=MODEL, messages=TOOL_HISTORY)
    assert completion.choices[0].message.content == "No umbrella needed."
    prompt = server.engine.prompts[-1]
    # The call is what the assistant said, its result the next input; turns still alternate.
    assert (
        '<bot>: {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}\n'
        "<human>: Result of get_weather: 18 C and sunny\n"
        "<bot>: It is 18 C and sunny in Paris.\n<human>: Should I take an umbrella?\n<bot>:"
    ) in prompt


# -- output moderation ---------------------------------------------------------------------------


@pytest.fixture
def moderated(make_server: Any, shipped_moderator: Any) -> Any:
    from parley.moderation.policy import Policy
    from parley.moderation.settings import ModerationSettings
    from parley.wiring import PolicyModeration

    moderation = PolicyModeration(shipped_moderator, Policy(ModerationSettings()), None)
    return make_server(
        engine=FakeEngine([HARMFUL, HARMFUL]), moderation=moderation, model_name=MODEL
    )


def test_a_cut_reply_is_a_content_filter_finish_with_the_refusal(moderated: Any) -> None:
    client = client_for(moderated)
    messages = [{"role": "user", "content": "What should I do at the station tomorrow?"}]
    chunks = list(client.chat.completions.create(model=MODEL, messages=messages, stream=True))
    last = chunks[-1]
    assert last.choices[0].finish_reason == "content_filter"
    assert "Unfortunately I am unable" in (last.choices[0].delta.content or "")
    assert not last.model_extra  # no `replace` or other non-standard field
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "pipe bomb" not in text

    completion = client.chat.completions.create(model=MODEL, messages=messages)
    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.choices[0].message.content.startswith("Unfortunately I am unable")
    assert completion.model_extra["parley_finish_reason"] == "moderation"


def test_the_web_page_gets_its_own_events_when_it_asks(moderated: Any) -> None:
    body = {
        "messages": [{"role": "user", "content": "What should I do at the station tomorrow?"}],
        "stream": True,
        "parley_events": True,
    }
    with moderated.client() as http:
        text = http.post("/v1/chat/completions", json=body).text
    events = [block for block in text.split("\n\n") if block.startswith("event: parley")]
    assert len(events) == 2
    assert '"replace": "Unfortunately I am unable' in events[0]
    assert '"parley_finish_reason": "moderation"' in events[1]


# -- langchain-openai ----------------------------------------------------------------------------


def test_langchain_openai_invoke_stream_history_and_errors(server: Any) -> None:
    chat_models = pytest.importorskip("langchain_openai")
    messages_mod = pytest.importorskip("langchain_core.messages")
    llm = chat_models.ChatOpenAI(
        model=MODEL, base_url=f"{server.url}/v1", api_key="unused", max_retries=0
    )
    server.engine.queue("Paris.")
    assert llm.invoke("Capital of France?").content == "Paris."

    server.engine.queue(" Le", "on", "ardo.")
    streamed = list(llm.stream("Who painted the Mona Lisa?", stream_usage=True))
    assert "".join(str(c.content) for c in streamed) == "Leonardo."
    usage = [c.usage_metadata for c in streamed if c.usage_metadata]
    assert usage and usage[-1]["output_tokens"] == 3

    ai, tool = messages_mod.AIMessage, messages_mod.ToolMessage
    history = [
        messages_mod.HumanMessage("What is the weather in Paris?"),
        ai(
            "",
            tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}],
        ),
        tool("18 C and sunny", tool_call_id="call_1"),
        messages_mod.HumanMessage("Umbrella?"),
    ]
    server.engine.queue("No.")
    assert llm.invoke(history).content == "No."
    assert "get_weather" in server.engine.prompts[-1]

    with pytest.raises(openai.BadRequestError) as caught:
        llm.invoke("Hi", max_tokens=10**6)
    assert caught.value.type == "invalid_request_error"
    # langchain sends max_tokens as max_completion_tokens: the error names what was sent.
    assert caught.value.param == "max_completion_tokens"
    assert "max_completion_tokens=1000000" in caught.value.message
