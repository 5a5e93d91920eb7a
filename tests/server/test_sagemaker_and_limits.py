import json
import threading
import time

import httpx
import pytest

from parley.server.auth import hash_key
from parley.server.settings import ServerSettings
from tests.conftest import FakeEngine

SESSION_HEADER = "X-Amzn-SageMaker-Custom-Attributes"


def test_ping_health_metrics(make_server):
    server = make_server()
    client = server.client()
    assert client.get("/ping").status_code == 200
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["session_store"] == "sqlite"
    server.engine.queue("a", "b")
    client.post("/invocations", json={"inputs": "hi"})
    metrics = client.get("/metrics").text
    assert 'parley_requests_total{route="/invocations",status="200"} 1.0' in metrics
    assert "parley_generated_tokens_total 2.0" in metrics
    assert "parley_request_seconds_bucket" in metrics


def test_invocations_with_the_seed_payload(make_server):
    server = make_server()
    server.engine.queue(" Paris.")
    server.engine.queue(" Berlin.")
    client = server.client()
    payload = {
        "inputs": "Capital of France?",
        "parameters": {"temperature": 0.6, "top_k": 40, "max_new_tokens": 512},
    }
    first = client.post("/invocations", json=payload).json()
    assert first["outputs"] == "Paris."
    session_id = first["session_id"]
    assert len(session_id) == 36  # a uuid4
    second = client.post(
        "/invocations",
        json={"inputs": "And Germany?", "session_id": session_id, "no_retrieval": True},
    ).json()
    assert second["outputs"] == "Berlin." and second["session_id"] == session_id
    assert "<bot>: Paris.\n<human>: And Germany?" in server.engine.prompts[-1]


def test_unknown_session_id_is_created_as_the_seed_did(make_server):
    server = make_server()
    server.engine.queue("ok")
    reply = server.client().post("/invocations", json={"inputs": "hi", "session_id": "my-chat-1"})
    assert reply.json()["session_id"] == "my-chat-1"
    assert server.store.get("my-chat-1") is not None


def test_jsonlines_stream_generates_once(make_server):
    server = make_server()
    server.engine.queue(" One", " two", " three.")
    with server.client().stream(
        "POST",
        "/invocations",
        json={"inputs": "count"},
        headers={"Accept": "application/jsonlines"},
    ) as response:
        assert response.headers["content-type"].startswith("application/jsonlines")
        header = response.headers[SESSION_HEADER]
        lines = [json.loads(line) for line in response.iter_lines() if line]
    pieces = [piece for line in lines for piece in line["outputs"]]
    assert "".join(pieces) == "One two three."
    assert header == f"session_id={lines[-1]['session_id']}"
    assert len(server.engine.prompts) == 1  # generated once per turn
    session = server.store.get(lines[-1]["session_id"])
    assert [t.text for t in session.turns] == ["count", "One two three."]


def test_bad_invocation_payloads(make_server):
    client = make_server().client()
    cases = [
        ({"parameters": {}}, "inputs: Field required"),
        ({"inputs": ""}, "inputs: String should have at least 1 character"),
        ({"inputs": "x", "parameters": {"temprature": 1}}, "temprature: unknown parameter"),
        ({"inputs": "x", "parameters": {"top_k": "many"}}, "top_k"),
        ({"inputs": "x", "session_id": "bad id!"}, "session id"),
        ({"inputs": "x", "extra": 1}, "extra: Extra inputs are not permitted"),
    ]
    for payload, fragment in cases:
        response = client.post("/invocations", json=payload)
        assert response.status_code in (400, 422), payload
        assert fragment.lower() in response.json()["error"]["message"].lower(), response.text


def test_keys_and_session_ownership(make_server):
    server = make_server(ServerSettings(api_keys=[hash_key("alice-key"), "bob-key"]))
    server.engine.queue("hello alice")
    anonymous = server.client()
    assert anonymous.post("/invocations", json={"inputs": "hi"}).status_code == 401
    wrong = server.client("nope").post("/invocations", json={"inputs": "hi"})
    assert wrong.status_code == 401 and "invalid API key" in wrong.json()["error"]["message"]
    alice, bob = server.client("alice-key"), server.client("bob-key")
    session_id = alice.post("/invocations", json={"inputs": "hi"}).json()["session_id"]
    assert alice.get(f"/v1/sessions/{session_id}").status_code == 200
    assert bob.get(f"/v1/sessions/{session_id}").status_code == 404
    assert bob.delete(f"/v1/sessions/{session_id}").status_code == 404
    assert bob.patch(f"/v1/sessions/{session_id}", json={"title": "x"}).status_code == 404
    taken = bob.post("/invocations", json={"inputs": "hi", "session_id": session_id})
    assert taken.status_code == 404
    assert bob.get("/v1/sessions").json()["data"] == []
    assert [s["id"] for s in alice.get("/v1/sessions").json()["data"]] == [session_id]


def test_sessions_api_rename_list_delete(make_server):
    server = make_server()
    client = server.client()
    created = client.post("/v1/sessions", json={}).json()
    assert (
        client.patch(f"/v1/sessions/{created['id']}", json={"title": "Trip"}).json()["title"]
        == "Trip"
    )
    assert client.get("/v1/sessions").json()["data"][0]["title"] == "Trip"
    assert client.patch(f"/v1/sessions/{created['id']}", json={"title": ""}).status_code == 400
    assert client.delete(f"/v1/sessions/{created['id']}").status_code == 204
    assert client.get(f"/v1/sessions/{created['id']}").status_code == 404


def test_queue_full_answers_429_with_retry_after(make_server):
    engine = FakeEngine(delay=0.05)
    for _ in range(4):
        engine.queue(*["x"] * 20)
    server = make_server(
        ServerSettings(max_active_generations=1, max_queued_generations=1), engine=engine
    )
    statuses: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            statuses.append(client.post("/invocations", json={"inputs": "go"}).status_code)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.2)
    refused = server.client().post("/invocations", json={"inputs": "go"})
    for thread in threads:
        thread.join()
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "server busy" in refused.json()["error"]["message"]
    assert statuses == [200, 200]


def test_rate_limit_per_key(make_server):
    server = make_server(ServerSettings(rate_limit_per_minute=2))
    client = server.client()
    assert [client.get("/v1/sessions").status_code for _ in range(3)] == [200, 200, 429]


def test_disconnect_mid_stream_stops_generation_and_keeps_the_session_consistent(make_server):
    engine = FakeEngine(delay=0.05)
    engine.queue(*[f" w{i}" for i in range(200)])
    server = make_server(engine=engine)
    with server.client().stream(
        "POST",
        "/invocations",
        json={"inputs": "long"},
        headers={"Accept": "application/jsonlines"},
    ) as response:
        session_id = response.headers[SESSION_HEADER].removeprefix("session_id=")
        lines = response.iter_lines()
        next(lines)
        next(lines)
    deadline = time.monotonic() + 10
    while engine.closed_early == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.closed_early == 1  # the generation was stopped, not run to the end

    # The reply is stored as "pending" first and finished once the pipeline has closed, which
    # happens in the server's own thread after the disconnect: wait for that, not just a turn.
    def finished(session) -> bool:
        return len(session.turns) == 2 and session.turns[1].labels["finish_reason"] != "pending"

    session = server.store.get(session_id)
    deadline = time.monotonic() + 5
    while not finished(session) and time.monotonic() < deadline:
        time.sleep(0.05)
        session = server.store.get(session_id)
    assert [t.role for t in session.turns] == ["user", "assistant"]
    assert session.turns[1].labels["finish_reason"] == "cancelled"
    assert 0 < len(session.turns[1].text.split()) < 200


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_detection(host):
    from parley.server.auth import is_loopback

    assert is_loopback(host)
    assert not is_loopback("0.0.0.0")


def test_jsonlines_stream_shows_the_refusal_after_output_moderation_cuts(
    make_server, shipped_moderator
):
    from parley.moderation.policy import Policy
    from parley.moderation.settings import ModerationSettings
    from parley.wiring import PolicyModeration

    settings = ModerationSettings()
    moderation = PolicyModeration(shipped_moderator, Policy(settings), None)
    server = make_server(moderation=moderation)
    server.engine.queue(
        " Sure, I can help with chemistry. ",
        "Mix bleach and ammonia in a closed room ",
        "to poison your roommate while they sleep. ",
        "Then hide the body.",
    )
    with server.client().stream(
        "POST",
        "/invocations",
        json={"inputs": "Tell me about cleaning products."},
        headers={"Accept": "application/jsonlines"},
    ) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    shown = "".join(piece for line in lines for piece in line["outputs"])
    assert "bleach" not in shown and "poison" not in shown
    replaced = [line for line in lines if "replace" in line]
    assert len(replaced) == 1 and replaced[0]["replace"] == settings.refusal
    assert shown.endswith(settings.refusal)
    tail = lines[-1]
    assert tail["finish_reason"] == "moderation"
    assert tail["moderation"]["output"]["action"] == "block"


def test_sessions_api_without_a_store_is_a_clear_client_error(make_server):
    server = make_server()
    server.service.store = None
    response = server.client().get("/v1/sessions")
    assert response.status_code == 400
    assert "keeps no sessions" in response.json()["error"]["message"]
