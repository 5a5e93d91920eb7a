"""Thumbs up/down on assistant turns over HTTP: stored, owner-checked, counted in /metrics."""

from __future__ import annotations

import json

from parley.server.auth import hash_key
from parley.server.settings import ServerSettings
from tests.conftest import FakeEngine


def _chat(client, server, session_id: str, text: str, reply: str) -> None:
    server.engine.queue(reply)
    response = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": text}], "session_id": session_id},
    )
    assert response.status_code == 200, response.text


def test_rate_a_reply_then_change_and_remove_it(make_server):
    server = make_server()
    client = server.client()
    session = client.post("/v1/sessions", json={}).json()
    _chat(client, server, session["id"], "Hi", "Hello there.")
    url = f"/v1/sessions/{session['id']}/turns/1/feedback"
    version = client.get(f"/v1/sessions/{session['id']}").json()["version"]

    good = client.post(url, json={"rating": "good"})
    assert good.status_code == 200, good.text
    assert good.json()["feedback"]["rating"] == "good"
    stored = client.get(f"/v1/sessions/{session['id']}").json()
    assert stored["turns"][1]["feedback"]["rating"] == "good"
    assert stored["turns"][0]["feedback"] is None
    assert stored["version"] == version  # a rating is not a change of the conversation

    bad = client.post(url, json={"rating": "bad", "comment": "Too short."}).json()
    assert bad["feedback"] == {**bad["feedback"], "rating": "bad", "comment": "Too short."}
    assert client.post(url, json={"rating": None}).json()["feedback"] is None
    assert client.get(f"/v1/sessions/{session['id']}").json()["turns"][1]["feedback"] is None

    metrics = client.get("/metrics").text
    assert 'parley_feedback_total{rating="good"} 1.0' in metrics
    assert 'parley_feedback_total{rating="bad"} 1.0' in metrics
    assert 'parley_feedback_total{rating="removed"} 1.0' in metrics


def test_bad_feedback_requests(make_server):
    server = make_server()
    client = server.client()
    session = client.post("/v1/sessions", json={}).json()
    _chat(client, server, session["id"], "Hi", "Hello.")
    base = f"/v1/sessions/{session['id']}/turns"
    user_turn = client.post(f"{base}/0/feedback", json={"rating": "good"})
    assert user_turn.status_code == 400
    assert "user" in user_turn.json()["error"]["message"]
    assert client.post(f"{base}/2/feedback", json={"rating": "good"}).status_code == 404
    assert client.post(f"{base}/-1/feedback", json={"rating": "good"}).status_code == 400
    assert client.post(f"{base}/1/feedback", json={"rating": "great"}).status_code == 400
    assert client.post(f"{base}/1/feedback", json={}).status_code == 400
    orphan = client.post(f"{base}/1/feedback", json={"rating": None, "comment": "hm"})
    assert orphan.status_code == 400 and "goes with a rating" in orphan.json()["error"]["message"]
    long = client.post(f"{base}/1/feedback", json={"rating": "bad", "comment": "x" * 2001})
    assert long.status_code == 400
    missing = client.post("/v1/sessions/nope/turns/1/feedback", json={"rating": "good"})
    assert missing.status_code == 404


def test_only_the_owner_rates(make_server):
    server = make_server(ServerSettings(api_keys=[hash_key("alice-key"), hash_key("bob-key")]))
    alice, bob = server.client("alice-key"), server.client("bob-key")
    session = alice.post("/v1/sessions", json={}).json()
    _chat(alice, server, session["id"], "Hi", "Hello.")
    url = f"/v1/sessions/{session['id']}/turns/1/feedback"
    assert bob.post(url, json={"rating": "bad"}).status_code == 404
    assert server.client().post(url, json={"rating": "bad"}).status_code == 401
    assert alice.post(url, json={"rating": "good"}).status_code == 200
    assert alice.get(f"/v1/sessions/{session['id']}").json()["turns"][1]["feedback"]["rating"] == (
        "good"
    )


def test_a_reply_still_being_written_is_refused_then_rated(make_server):
    # The message and an empty pending reply are stored when the request is accepted; the
    # reply's index is known from then on, but it can be rated only once it is written.
    server = make_server(engine=FakeEngine([["Hi", " there", "."] * 20], delay=0.05))
    client = server.client()
    session = client.post("/v1/sessions", json={}).json()
    url = f"/v1/sessions/{session['id']}/turns/1/feedback"
    body = {
        "messages": [{"role": "user", "content": "Hello"}],
        "session_id": session["id"],
        "stream": True,
    }
    with client.stream("POST", "/v1/chat/completions", json=body) as stream:
        lines = stream.iter_lines()
        first = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
        assert first["session_id"] == session["id"]
        early = client.post(url, json={"rating": "good"})
        assert early.status_code == 409, early.text
        assert "still being written" in early.json()["error"]["message"]
        assert early.json()["error"]["code"] == "conflict"
        rest = [line for line in lines if line.startswith("data: ")]
    assert rest[-1] == "data: [DONE]"
    done = client.post(url, json={"rating": "good"})
    assert done.status_code == 200, done.text
    turns = client.get(f"/v1/sessions/{session['id']}").json()["turns"]
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert turns[1]["text"].startswith("Hi there.")
    assert turns[1]["feedback"]["rating"] == "good"
