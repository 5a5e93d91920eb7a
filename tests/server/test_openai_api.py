import openai
import pytest

from parley.server.settings import ServerSettings


@pytest.fixture
def server(make_server):
    return make_server()


def openai_client(server, key="unused"):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


def test_non_streaming_completion_with_the_official_client(server):
    server.engine.queue(" Paris", " is the capital.", "\n<human>: more")
    client = openai_client(server)
    completion = client.chat.completions.create(
        model="parley",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
        ],
        temperature=0,
        max_tokens=50,
        seed=3,
        stop=["STOP"],
    )
    assert completion.choices[0].message.content == "Paris is the capital."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens == 3
    assert completion.model_extra["session_id"] is None  # stateless without a session_id
    assert server.engine.prompts[-1].endswith("<human>: Capital of France?\n<bot>:")


def test_streaming_completion_with_the_official_client(server):
    server.engine.queue(" Hello", " there", ", friend.")
    client = openai_client(server)
    stream = client.chat.completions.create(
        model="parley", messages=[{"role": "user", "content": "Hi"}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello there, friend."
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stateless_requests_use_the_messages_sent(server):
    server.engine.queue("ok")
    openai_client(server).chat.completions.create(
        model="parley",
        messages=[
            {"role": "user", "content": "My name is Ada."},
            {"role": "assistant", "content": "Nice to meet you, Ada."},
            {"role": "user", "content": "What is my name?"},
        ],
    )
    prompt = server.engine.prompts[-1]
    assert (
        "<human>: My name is Ada.\n<bot>: Nice to meet you, Ada.\n<human>: What is my name?"
        in prompt
    )


def test_session_id_keeps_history_on_the_server(server):
    client = server.client()
    session = client.post("/v1/sessions", json={"title": "t"}).json()
    server.engine.queue("Hello Ada.")
    server.engine.queue("You are Ada.")
    for text in ("I am Ada.", "Who am I?"):
        response = client.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": text}], "session_id": session["id"]},
        )
        assert response.status_code == 200, response.text
        assert response.json()["session_id"] == session["id"]
    assert "<human>: I am Ada.\n<bot>: Hello Ada.\n<human>: Who am I?" in server.engine.prompts[-1]
    stored = client.get(f"/v1/sessions/{session['id']}").json()
    assert [t["text"] for t in stored["turns"]] == [
        "I am Ada.",
        "Hello Ada.",
        "Who am I?",
        "You are Ada.",
    ]
    assert stored["turns"][1]["params"]["max_new_tokens"] > 0


def test_unknown_session_is_404(server):
    response = server.client().post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}], "session_id": "nope"},
    )
    assert response.status_code == 404
    assert "session nope not found" in response.json()["error"]["message"]


def test_models_endpoint(server):
    assert [m.id for m in openai_client(server).models.list().data] == ["parley"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": -1}, "temperature"),
        ({"messages": [{"role": "user", "content": "x"}], "top_p": 3}, "top_p"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 2000}, "cap of 1024"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 10**6}, "cap of 1024"),
        ({"messages": [{"role": "assistant", "content": "x"}]}, "last message must be"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n=1"),
    ],
)
def test_bad_payloads_get_4xx_with_messages(server, payload, fragment):
    response = server.client().post("/v1/chat/completions", json=payload)
    assert 400 <= response.status_code < 500
    body = response.json()
    assert fragment in body["error"]["message"]
    assert "Traceback" not in response.text


def test_not_json_and_oversized_bodies(make_server):
    server = make_server(ServerSettings(max_body_bytes=2000))
    client = server.client()
    response = client.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400  # OpenAI's status for a bad request body
    assert "not valid JSON at line 1 column 2" in response.json()["error"]["message"]
    big = {"messages": [{"role": "user", "content": "x" * 5000}]}
    response = client.post("/v1/chat/completions", json=big)
    assert response.status_code == 413
    assert "larger than 2000 bytes" in response.json()["error"]["message"]


def test_long_message_is_refused(make_server):
    server = make_server(ServerSettings(max_message_chars=10))
    response = server.client().post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": "x" * 11}]}
    )
    assert response.status_code == 400
    assert "longer than 10 characters" in response.json()["error"]["message"]
