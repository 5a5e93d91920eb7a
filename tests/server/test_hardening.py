"""Hostile inputs against a real server on loopback (issue 14): bounded time, no 5xx, nothing
accepted is lost. SQLite and PostgreSQL stores where the store matters."""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from parley.engines.base import EngineError, TokenPiece
from parley.engines.params import GenerationParams
from parley.server.auth import hash_key
from parley.server.settings import ServerSettings
from parley.sessions.base import StoredTurn
from parley.sessions.sqlite_store import SQLiteSessionStore
from tests.conftest import FakeEngine

CHAT = "/v1/chat/completions"


def user(text: str) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": text}]}


def error_of(response: httpx.Response) -> str:
    return response.json()["error"]["message"]


# -- 1. prompt trimming is linear ----------------------------------------------------------


def test_a_body_at_the_limit_is_trimmed_in_bounded_time(make_server):
    server = make_server(ServerSettings(rate_limit_per_minute=0))
    server.engine.queue("ok")
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": "w " * 2400} for i in range(198)
    ]
    messages.append({"role": "user", "content": "and the newest question"})
    body = json.dumps({"messages": messages})
    assert len(body) < 1_000_000
    started = time.perf_counter()
    response = server.client().post(
        CHAT, content=body, headers={"content-type": "application/json"}
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert elapsed < 2.0, elapsed
    # Only what fits the 2048-token window reached the model.
    assert len(server.engine.prompts[-1].split()) <= 2048


# -- 2. the accepted message survives kill -9 (tests/server/test_kill.py); stored first ----


def test_the_message_is_stored_before_generation_and_the_reply_after(make_server):
    engine = FakeEngine(delay=0.05)
    engine.queue(*[" word"] * 40)
    server = make_server(engine=engine)
    session_id = server.client().post("/v1/sessions", json={}).json()["id"]
    with server.client().stream(
        "POST", CHAT, json={**user("remember me"), "stream": True, "session_id": session_id}
    ) as response:
        lines = response.iter_lines()
        first = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
        assert first["session_id"] == session_id
        session = server.store.get(session_id)
        # Generation is under way: the message is there, its reply pending.
        assert [(t.role, t.text) for t in session.turns] == [
            ("user", "remember me"),
            ("assistant", ""),
        ]
        assert session.turns[1].labels["finish_reason"] == "pending"
        for _ in lines:
            pass
    session = server.store.get(first["session_id"])
    assert session.turns[1].text == ("word " * 40).strip()
    assert session.turns[1].labels["finish_reason"] == "stop"


# -- 3/4. NUL and lone surrogates: a clear 400 at the edge, the store never sees them --------

BAD_STRINGS = ["Hi\u0000there", "\udfff", "a\ud800b"]


def _bad_bodies(bad: str) -> list[tuple[str, str, dict[str, object]]]:
    return [
        ("POST", CHAT, user(bad)),
        ("POST", CHAT, {"messages": [{"role": "system", "content": bad}, *user("hi")["messages"]]}),
        (
            "POST",
            CHAT,
            {"messages": [{"role": "user", "content": [{"type": "text", "text": bad}]}]},
        ),
        ("POST", CHAT, {**user("hi"), "model": bad}),
        ("POST", CHAT, {**user("hi"), "stop": [bad]}),
        ("POST", CHAT, {**user("hi"), "stop": bad, "stream": True}),
        ("POST", CHAT, {**user("hi"), "session_id": bad}),
        ("POST", "/invocations", {"inputs": bad}),
        ("POST", "/invocations", {"inputs": "hi", "parameters": {"stop": [bad]}}),
        ("POST", "/invocations", {"inputs": "hi", "session_id": bad}),
        ("POST", "/invocations", {"inputs": "hi", "parameters": {bad: 1}}),
        ("POST", "/v1/sessions", {"title": bad}),
    ]


def test_nul_and_surrogates_are_400_everywhere(make_server, any_store):
    server = make_server(ServerSettings(rate_limit_per_minute=0), store=any_store)
    client = server.client()
    session_id = client.post("/v1/sessions", json={}).json()["id"]
    for bad in BAD_STRINGS:
        cases = [
            *_bad_bodies(bad),
            ("PATCH", f"/v1/sessions/{session_id}", {"title": bad}),
        ]
        for method, path, body in cases:
            # json.dumps writes lone surrogates as \\udfff escapes, as a hostile client would.
            response = client.request(
                method, path, content=json.dumps(body), headers={"content-type": "application/json"}
            )
            assert response.status_code == 400, (method, path, body, response.text)
            message = error_of(response)
            assert "NUL" in message or "surrogate" in message, message
    assert server.engine.prompts == []  # nothing reached the model
    sessions = client.get("/v1/sessions").json()["data"]
    assert [s["id"] for s in sessions] == [session_id]  # nothing else was created
    exported = client.get(f"/v1/sessions/{session_id}")
    assert exported.status_code == 200 and exported.json()["turns"] == []
    assert exported.json()["title"] is None


def test_bytes_that_are_not_utf8_are_400(make_server):
    client = make_server().client()
    response = client.post(
        CHAT,
        content=b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and "not valid JSON" in error_of(response)


# -- 5. huge offsets and limits -----------------------------------------------------------


def test_huge_offsets_and_limits_are_4xx(make_server, any_store):
    client = make_server(store=any_store).client()
    for query in (
        "offset=9223372036854775808",
        "offset=9223372036854775807",
        "offset=-1",
        "limit=100000000000000000000",
        "limit=0",
        "offset=1e309",
    ):
        response = client.get(f"/v1/sessions?{query}")
        assert response.status_code == 400, (query, response.text)  # /v1: OpenAI's 400
    assert client.get("/v1/sessions?offset=1000000000").json()["data"] == []


# -- 6. slow clients --------------------------------------------------------------------------


def _raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(10)
    return sock


def test_slow_headers_are_cut_off(make_server):
    server = make_server(ServerSettings(header_timeout_s=0.5, body_timeout_s=0.5))
    idle, trickle = _raw(server.url), _raw(server.url)
    trickle.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    assert idle.recv(100) == b""  # closed, without a byte
    assert trickle.recv(100) == b""
    assert time.monotonic() - started < 3


def test_slow_bodies_get_408(make_server):
    server = make_server(ServerSettings(header_timeout_s=0.5, body_timeout_s=0.5))
    socks = []
    for _ in range(20):
        sock = _raw(server.url)
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"inputs": '
        )
        socks.append(sock)
    started = time.monotonic()
    for sock in socks:
        answer = sock.recv(1000)
        assert answer.startswith(b"HTTP/1.1 408"), answer
    assert time.monotonic() - started < 3
    # The server still answers the rest of the world.
    assert server.client().get("/ping").status_code == 200


# -- 7. failed authentication is rate-limited per address -------------------------------------


def test_failed_authentications_are_rate_limited(make_server):
    server = make_server(ServerSettings(api_keys=[hash_key("right")], auth_failures_per_minute=10))
    wrong = server.client("wrong")
    statuses = [wrong.get("/v1/models").status_code for _ in range(30)]
    assert statuses[:10] == [401] * 10
    assert set(statuses[10:]) == {429}
    limited = wrong.get("/v1/models")
    assert int(limited.headers["Retry-After"]) >= 1
    # The address is locked out for now, even with the right key: no guessing at speed.
    assert server.client("right").get("/v1/models").status_code == 429


def test_rate_limit_of_failures_is_off_on_an_open_server(make_server):
    client = make_server(ServerSettings(auth_failures_per_minute=1)).client("anything")
    assert {client.get("/v1/models").status_code for _ in range(5)} == {200}


# -- 8. session ids of other owners -----------------------------------------------------------


def _median_seconds(call, repeat: int = 15) -> float:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def test_another_owners_session_is_never_claimed_and_reads_as_missing(make_server, any_store):
    keys = [hash_key("alice"), hash_key("bob")]
    server = make_server(ServerSettings(api_keys=keys, rate_limit_per_minute=0), store=any_store)
    alice, bob = server.client("alice"), server.client("bob")
    server.engine.queue("hi")
    created = alice.post("/invocations", json={"inputs": "hi", "session_id": "alice-chat"})
    assert created.status_code == 200
    # A long session: "not yours" must not load its turns.
    turns = [StoredTurn(role="user", text="x " * 200)] * 900
    any_store.append("alice-chat", turns)
    taken = bob.post("/invocations", json={"inputs": "hi", "session_id": "alice-chat"})
    missing = bob.post(CHAT, json={**user("hi"), "session_id": "nobody-chat"})
    foreign = bob.post(CHAT, json={**user("hi"), "session_id": "alice-chat"})
    assert taken.status_code == foreign.status_code == missing.status_code == 404
    assert error_of(foreign) == error_of(missing).replace("nobody-chat", "alice-chat")
    assert error_of(taken) == error_of(foreign)
    for path in ("alice-chat", "nobody-chat"):
        assert bob.get(f"/v1/sessions/{path}").status_code == 404
    # Still Alice's, untouched.
    assert any_store.get("alice-chat", owner=server.store.get("alice-chat").owner) is not None
    assert len(any_store.get("alice-chat").turns) == 902
    foreign_s = _median_seconds(lambda: bob.get("/v1/sessions/alice-chat"))
    missing_s = _median_seconds(lambda: bob.get("/v1/sessions/nobody-chat"))
    own_s = _median_seconds(lambda: alice.get("/v1/sessions/alice-chat"), repeat=3)
    # Loading the 902 turns is what costs; "not yours" must cost what "missing" costs.
    assert foreign_s < missing_s * 2 + 0.005, (foreign_s, missing_s, own_s)


# -- 9. a non-streaming client that leaves stops its generation ------------------------------


@pytest.mark.parametrize("path", ["/invocations", CHAT])
def test_abandoned_requests_stop_generating(make_server, path):
    engine = FakeEngine(delay=0.02)
    engine.queue(*[" word"] * 500)  # 10 s if nobody stops it
    server = make_server(engine=engine)
    body = {"inputs": "go on"} if path == "/invocations" else user("go on")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{server.url}{path}", json=body, timeout=0.5)
    deadline = time.monotonic() + 3
    while engine.closed_early == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.closed_early == 1
    if path == CHAT:
        return  # stateless: nothing stored
    [summary] = server.store.list()
    session = server.store.get(summary.id)
    assert session.turns[0].text == "go on"
    assert session.turns[1].labels["finish_reason"] == "cancelled"


# -- 10. twenty clients first using one new id ------------------------------------------------


def test_concurrent_first_uses_of_one_id(make_server, any_store):
    engine = FakeEngine()
    for _ in range(20):
        engine.queue("ok")
    server = make_server(ServerSettings(rate_limit_per_minute=0), engine=engine, store=any_store)
    statuses: list[int] = []
    barrier = threading.Barrier(20)

    def first_use() -> None:
        with server.client() as client:
            barrier.wait()
            reply = client.post("/invocations", json={"inputs": "hi", "session_id": "shared-new"})
            statuses.append(reply.status_code)

    threads = [threading.Thread(target=first_use) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    assert len(any_store.get("shared-new").turns) == 40


# -- 11. a full session is refused before generating ----------------------------------------


def test_a_full_session_is_refused_up_front(make_server, tmp_path):
    store = SQLiteSessionStore(tmp_path / "full.db", max_turns_per_session=4)
    engine = FakeEngine(delay=0.5)
    engine.queue("one")
    engine.queue("two")
    server = make_server(engine=engine, store=store)
    client = server.client()
    session_id = client.post("/invocations", json={"inputs": "1"}).json()["session_id"]
    client.post("/invocations", json={"inputs": "2", "session_id": session_id})
    prompts = len(engine.prompts)
    for body, path in (
        ({"inputs": "3", "session_id": session_id}, "/invocations"),
        ({**user("3"), "session_id": session_id, "stream": True}, CHAT),
    ):
        started = time.perf_counter()
        response = client.post(path, json=body)
        assert response.status_code == 400, response.text
        assert "is full" in error_of(response)
        assert time.perf_counter() - started < 0.4  # no 0.5 s token was generated
    assert len(engine.prompts) == prompts


class FailingEngine(FakeEngine):
    """Streams two pieces, then the model fails."""

    def stream(self, prompt: str, params: GenerationParams) -> Iterator[TokenPiece]:
        self.prompts.append(prompt)
        yield TokenPiece(" half")
        yield TokenPiece(" a")
        raise EngineError("the GPU caught fire")


def test_a_stream_that_fails_ends_with_an_error_event(make_server):
    server = make_server(engine=FailingEngine())
    with server.client().stream("POST", CHAT, json={**user("hi"), "stream": True}) as response:
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert error["code"] == 503 and "GPU caught fire" in error["message"]
    with server.client().stream(
        "POST", "/invocations", json={"inputs": "hi"}, headers={"Accept": "application/jsonlines"}
    ) as response:
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines[-1]["error"]["code"] == 503
    # The message was kept, with the failure as its reply's reason.
    session = server.store.get(lines[-1].get("session_id") or server.store.list()[0].id)
    assert session.turns[0].text == "hi" and session.turns[1].labels["finish_reason"] == "error"


# -- 12. content types -----------------------------------------------------------------------


def test_json_is_accepted_whatever_type_it_declares(make_server):
    server = make_server()
    client = server.client()
    for declared in (
        "application/x-www-form-urlencoded",
        "text/plain",
        "",
        "application/octet-stream",
    ):
        server.engine.queue("ok")
        headers = {"content-type": declared} if declared else {}
        response = client.post("/invocations", content=b'{"inputs": "hi"}', headers=headers)
        assert response.status_code == 200, (declared, response.text)
    server.engine.queue("ok")
    response = client.post(
        CHAT, content=json.dumps(user("hi")), headers={"content-type": "text/plain"}
    )
    assert response.status_code == 200


def test_what_is_not_json_is_415_or_400(make_server):
    client = make_server().client()
    form = client.post("/invocations", data={"inputs": "hi"})
    assert form.status_code == 415 and "application/json" in error_of(form)
    broken = client.post(
        "/invocations", content=b'{"inputs": ', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and "line 1 column" in error_of(broken)


# -- 13. the smaller items ---------------------------------------------------------------------


def test_a_chunked_body_over_the_limit_is_413(make_server):
    client = make_server(ServerSettings(max_body_bytes=10_000)).client()

    def chunks() -> Iterator[bytes]:
        yield b'{"inputs": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'"}'

    response = client.post("/invocations", content=chunks())
    assert response.status_code == 413, response.text


def test_errors_are_short_and_echo_no_huge_input(make_server):
    client = make_server().client()
    stop = client.post(CHAT, json={**user("hi"), "stop": ["x" * 60] * 1000})
    assert stop.status_code in (400, 422) and len(stop.content) < 1500, len(stop.content)
    params = client.post(
        "/invocations", json={"inputs": "hi", "parameters": {"stop": ["y"] * 1000}}
    )
    assert params.status_code == 400 and len(params.content) < 1500
    long_id = "a" * 10_000
    for response in (
        client.get(f"/v1/sessions/{long_id}"),
        client.post("/invocations", json={"inputs": "hi", "session_id": long_id}),
    ):
        assert 400 <= response.status_code < 500 and long_id[:200] not in response.text


def test_blank_input_is_rejected_everywhere(make_server):
    client = make_server().client()
    for path, body in (
        ("/invocations", {"inputs": " \n\t "}),
        (CHAT, user(" \n\t ")),
        ("/v1/sessions", {"title": "   "}),
    ):
        response = client.post(path, json=body)
        assert response.status_code in (400, 422) and "empty" in error_of(response), response.text


def test_strings_are_not_coerced(make_server):
    client = make_server().client()
    for path, body in (
        ("/invocations", {"inputs": "hi", "no_retrieval": "yes"}),
        ("/invocations", {"inputs": "hi", "parameters": {"top_k": "40"}}),
        ("/invocations", {"inputs": "hi", "parameters": {"do_sample": "no"}}),
        (CHAT, {**user("hi"), "stream": "true"}),
        (CHAT, {**user("hi"), "retrieval": "no"}),
        (CHAT, {**user("hi"), "seed": "7"}),
    ):
        response = client.post(path, json=body)
        assert response.status_code in (400, 422), (body, response.text)


def test_session_ids_have_a_format(make_server):
    client = make_server().client()
    for bad in ("..", "a..b", ".hidden", "-x"):
        response = client.post("/invocations", json={"inputs": "hi", "session_id": bad})
        assert response.status_code == 400, (bad, response.text)
        assert "invalid session id" in error_of(response)
    assert client.get("/v1/sessions/a..b").status_code == 400


def test_cancelled_streams_count_their_tokens(make_server):
    engine = FakeEngine(delay=0.02)
    engine.queue(*[" word"] * 500)
    server = make_server(engine=engine)
    with server.client().stream("POST", CHAT, json={**user("hi"), "stream": True}) as response:
        seen = 0
        for line in response.iter_lines():
            seen += line.startswith("data: ")
            if seen >= 6:
                break
    deadline = time.monotonic() + 3
    while engine.closed_early == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    metrics = server.client().get("/metrics").text
    line = next(x for x in metrics.splitlines() if x.startswith("parley_generated_tokens_total"))
    assert float(line.split()[-1]) >= 5


def test_openapi_tells_the_truth(make_server):
    client = make_server().client()
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    for path, method in (
        ("/invocations", "post"),
        ("/v1/chat/completions", "post"),
        ("/v1/sessions", "post"),
        ("/v1/sessions/{session_id}", "patch"),
    ):
        responses = paths[path][method]["responses"]
        for status in ("400", "401", "413", "415", "422", "429"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (path, status)
    assert "404" in paths["/v1/sessions/{session_id}"]["get"]["responses"]
    assert "503" in paths["/invocations"]["post"]["responses"]
    ping = client.get("/ping")
    assert (
        ping.headers["content-type"].split(";")[0]
        in paths["/ping"]["get"]["responses"]["200"]["content"]
    )
    metrics = client.get("/metrics")
    assert (
        metrics.headers["content-type"] in paths["/metrics"]["get"]["responses"]["200"]["content"]
    )


def test_options_is_405_with_allow(make_server):
    client = make_server().client()
    for path, allowed in (
        ("/v1/sessions", {"GET", "HEAD", "POST"}),
        ("/invocations", {"POST"}),
        ("/v1/sessions/abc", {"GET", "HEAD", "PATCH", "DELETE"}),
    ):
        response = client.options(path)
        assert response.status_code == 405
        assert set(response.headers["Allow"].split(", ")) == allowed, response.headers
