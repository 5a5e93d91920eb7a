"""One contract, every store: each test runs on SQLite, PostgreSQL and DynamoDB (moto)."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from parley.sessions import (
    ANY_OWNER,
    InvalidSessionId,
    SessionError,
    SessionExists,
    SessionFull,
    SessionNotFound,
    SessionStore,
    StoredTurn,
    VersionConflict,
)
from tests.sessions.conftest import FakeClock, StoreFactory


def turn(text: str, role: str = "user", **extra: object) -> StoredTurn:
    return StoredTurn(role=role, text=text, **extra)  # type: ignore[arg-type]


def test_create_and_get(store: SessionStore, clock: FakeClock) -> None:
    created = store.create("alice", title="Trip")
    assert uuid.UUID(created.id).version == 4
    assert (created.owner, created.title, created.version, created.turns) == (
        "alice",
        "Trip",
        0,
        [],
    )
    assert created.expires_at == created.updated_at + timedelta(hours=1)
    got = store.get(created.id)
    assert got == created
    assert got.created_at.tzinfo is not None
    assert store.get("no-such-session") is None


def test_create_with_id_and_duplicate(store: SessionStore) -> None:
    session = store.create(None, session_id="chat:42.a_b-c")
    assert session.id == "chat:42.a_b-c"
    assert store.get("chat:42.a_b-c").owner is None
    with pytest.raises(SessionExists):
        store.create("bob", session_id="chat:42.a_b-c")
    assert issubclass(SessionExists, SessionError)


@pytest.mark.parametrize(
    "bad",
    ["", "x" * 129, "has space", "a/b", "é", "a\nb", "semi;colon", "..", "a..b", ".x", "-x", "x\n"],
)
def test_invalid_ids(store: SessionStore, bad: str) -> None:
    for call in (
        lambda: store.create("alice", session_id=bad),
        lambda: store.get(bad),
        lambda: store.append(bad, [turn("hi")]),
        lambda: store.rename(bad, "t"),
        lambda: store.delete(bad),
        lambda: store.export(bad),
    ):
        with pytest.raises(InvalidSessionId) as info:
            call()
        assert isinstance(info.value, ValueError)
    store.create("alice", session_id="x" * 128)  # the longest valid id


def test_append_round_trips_everything(store: SessionStore, clock: FakeClock) -> None:
    session = store.create("alice")
    asked = turn(
        "Wer war Ada Lovelace? 👩‍💻",
        labels={"input": {"label": "casual", "scores": [0.91, 0.05]}, "action": "allow"},
    )
    answered = turn(
        "Ada Lovelace was a mathematician [1].",
        role="assistant",
        time=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2))),
        sources=[{"title": "Ada Lovelace", "url": None, "score": 0.5, "rank": 1}],
        params={"temperature": 0.6, "top_k": 40, "stop": ["<human>"], "do_sample": True},
    )
    after = store.append(session.id, [asked, answered])
    assert after.turns == [asked, answered]
    assert after.turns[1].time == datetime(2026, 1, 2, 1, 4, 5, 678901, tzinfo=UTC)
    assert after.version == 1
    assert after.updated_at > session.updated_at
    assert store.get(session.id) == after
    third = store.append(session.id, [turn("And Babbage?")])
    assert [t.text for t in third.turns][-1] == "And Babbage?"
    assert third.version == 2


def test_append_errors(store: SessionStore) -> None:
    with pytest.raises(SessionNotFound):
        store.append("missing", [turn("hi")])
    session = store.create("alice")
    with pytest.raises(ValueError, match="at least one turn"):
        store.append(session.id, [])
    assert store.get(session.id).version == 0


def test_expected_version(store: SessionStore) -> None:
    session = store.create("alice")
    first = store.append(session.id, [turn("one")], expected_version=0)
    assert first.version == 1
    with pytest.raises(VersionConflict):
        store.append(session.id, [turn("stale")], expected_version=0)
    with pytest.raises(VersionConflict):
        store.append(session.id, [turn("future")], expected_version=5)
    assert [t.text for t in store.get(session.id).turns] == ["one"]
    assert store.append(session.id, [turn("two")], expected_version=1).version == 2


def test_rename(store: SessionStore) -> None:
    session = store.create("alice", title="old")
    renamed = store.rename(session.id, "new", owner="alice")
    assert (renamed.title, renamed.version) == ("new", 1)
    assert renamed.updated_at > session.updated_at
    assert store.get(session.id).title == "new"
    with pytest.raises(SessionNotFound):
        store.rename("missing", "x")


def test_owner_isolation(store: SessionStore) -> None:
    mine = store.create("alice")
    store.append(mine.id, [turn("secret")])
    anonymous = store.create(None)
    for other in ("bob", None):
        assert store.get(mine.id, other) is None
        with pytest.raises(SessionNotFound):
            store.append(mine.id, [turn("intrusion")], owner=other)
        with pytest.raises(SessionNotFound):
            store.rename(mine.id, "pwned", owner=other)
        with pytest.raises(SessionNotFound):
            store.export(mine.id, owner=other)
        assert store.delete(mine.id, owner=other) is False
        assert mine.id not in {s.id for s in store.list(other)}
    assert store.get(anonymous.id, None) is not None
    assert store.get(anonymous.id, "alice") is None
    assert [s.id for s in store.list(None)] == [anonymous.id]
    still = store.get(mine.id, "alice")
    assert [t.text for t in still.turns] == ["secret"]
    assert (still.title, still.version) == (None, 1)


def test_list(store: SessionStore) -> None:
    owner = f"lister-{uuid.uuid4().hex[:6]}"
    first = store.create(owner, title="first")
    second = store.create(owner, title="second")
    third = store.create(owner, title="third")
    store.create("someone-else")
    assert [s.id for s in store.list(owner)] == [third.id, second.id, first.id]
    store.append(first.id, [turn("a"), turn("b", role="assistant")])
    listed = store.list(owner)
    assert [s.id for s in listed] == [first.id, third.id, second.id]
    assert (listed[0].turn_count, listed[0].title, listed[0].owner) == (2, "first", owner)
    assert [s.id for s in store.list(owner, limit=1, offset=1)] == [third.id]
    assert [s.id for s in store.list(owner, limit=2, offset=2)] == [second.id]
    everyone = store.list(ANY_OWNER, limit=1000)
    assert {first.id, second.id, third.id} <= {s.id for s in everyone}
    assert len(everyone) == 4
    assert everyone == sorted(everyone, key=lambda s: s.updated_at, reverse=True)
    with pytest.raises(ValueError):
        store.list(owner, limit=0)
    for offset in (-1, 2**63, 10**9 + 1):
        with pytest.raises(ValueError):
            store.list(owner, offset=offset)
    assert store.list(owner, offset=10**9) == []


def test_replace_turn_fills_the_pending_reply(store: SessionStore) -> None:
    session = store.create("alice")
    pending = [turn("question"), turn("", role="assistant", labels={"finish_reason": "pending"})]
    stored = store.append(session.id, pending, owner="alice")
    store.append(session.id, [turn("another question")], owner="alice")  # a concurrent writer
    reply = turn("answer", role="assistant", labels={"finish_reason": "stop"}, sources=[{"n": 1}])
    store.replace_turn(session.id, len(stored.turns) - 1, reply, owner="alice")
    final = store.get(session.id)
    assert [t.text for t in final.turns] == ["question", "answer", "another question"]
    assert final.turns[1] == reply
    assert final.version == 3
    with pytest.raises(SessionNotFound):
        store.replace_turn(session.id, 1, reply, owner="bob")
    with pytest.raises(SessionNotFound):
        store.replace_turn("no-such-session", 0, reply)
    for index in (3, -1):
        with pytest.raises(IndexError):
            store.replace_turn(session.id, index, reply)
    assert store.get(session.id) == final


def test_get_or_create(store: SessionStore) -> None:
    created = store.get_or_create("chosen-id", "alice")
    assert (created.id, created.owner, created.turns) == ("chosen-id", "alice", [])
    store.append("chosen-id", [turn("hi")])
    assert [t.text for t in store.get_or_create("chosen-id", "alice").turns] == ["hi"]
    with pytest.raises(SessionNotFound):
        store.get_or_create("chosen-id", "bob")  # never claimed, never shown
    assert store.get("chosen-id").owner == "alice"


def test_get_or_create_under_a_race(make_store: StoreFactory) -> None:
    store = make_store()
    got: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def first_use() -> None:
        try:
            barrier.wait()
            got.append(store.get_or_create("raced-id", "alice").id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and got == ["raced-id"] * 20


def test_delete(store: SessionStore) -> None:
    session = store.create("alice")
    store.append(session.id, [turn("bye")])
    assert store.delete(session.id, owner="alice") is True
    assert store.get(session.id) is None
    assert store.delete(session.id) is False
    assert store.list("alice") == []
    again = store.create("alice", session_id=session.id)  # the id is free again
    assert again.turns == [] and again.version == 0


def test_export(store: SessionStore) -> None:
    session = store.create("alice", title="Export me")
    store.append(session.id, [turn("q", labels={"l": "casual"}), turn("a", role="assistant")])
    exported = store.export(session.id, owner="alice")
    again = json.loads(json.dumps(exported))
    assert again == exported
    assert exported["id"] == session.id and exported["title"] == "Export me"
    assert [t["text"] for t in exported["turns"]] == ["q", "a"]
    assert exported["turns"][0]["labels"] == {"l": "casual"}
    with pytest.raises(SessionNotFound):
        store.export("missing")


def test_expiry_is_sliding(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store(ttl_seconds=60)
    session = store.create("alice", session_id="short-lived")
    clock.advance(50)
    refreshed = store.append(session.id, [turn("still here")])
    assert refreshed.expires_at > session.expires_at
    clock.advance(50)  # 100 s after creation, 50 s after the append
    assert store.get(session.id) is not None
    clock.advance(11)
    assert store.get(session.id) is None
    assert store.list("alice") == []
    with pytest.raises(SessionNotFound):
        store.append(session.id, [turn("too late")])
    with pytest.raises(SessionNotFound):
        store.rename(session.id, "too late")
    with pytest.raises(SessionNotFound):
        store.export(session.id)
    reborn = store.create("bob", session_id="short-lived")
    assert reborn.owner == "bob" and reborn.turns == []


def test_purge_expired(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store(ttl_seconds=60)
    old = [store.create("alice") for _ in range(3)]
    store.append(old[0].id, [turn("x")])
    clock.advance(30)
    fresh = store.create("alice")
    clock.advance(40)
    assert store.delete(old[1].id) is False  # expired: deleted, but it was not live
    assert store.purge_expired() == 2
    assert store.purge_expired() == 0
    assert [s.id for s in store.list(ANY_OWNER)] == [fresh.id]


def test_no_ttl_never_expires(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store(ttl_seconds=None)
    session = store.create("alice")
    assert session.expires_at is None
    clock.advance(10 * 365 * 24 * 3600)
    assert store.append(session.id, [turn("a decade later")]).expires_at is None
    assert store.purge_expired() == 0
    assert [s.id for s in store.list("alice")] == [session.id]


def test_max_turns(make_store: StoreFactory) -> None:
    store = make_store(max_turns_per_session=5)
    session = store.create("alice")
    store.append(session.id, [turn("1"), turn("2"), turn("3")])
    with pytest.raises(SessionFull, match="limit of 5"):
        store.append(session.id, [turn("4"), turn("5"), turn("6")])
    assert len(store.get(session.id).turns) == 3
    assert len(store.append(session.id, [turn("4"), turn("5")]).turns) == 5
    with pytest.raises(SessionError, match="max_turns_per_session"):
        store.append(session.id, [turn("6")])
    with pytest.raises(SessionFull):
        store.append(store.create("bob").id, [turn(str(i)) for i in range(6)])


def test_concurrent_writers_lose_nothing(make_store: StoreFactory) -> None:
    store = make_store(ttl_seconds=None)
    session = store.create("alice")
    writers, each = 20, 5
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            barrier.wait()
            for n in range(each):
                store.append(session.id, [turn(f"w{writer}-{n}")], owner="alice")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = store.get(session.id)
    texts = [t.text for t in final.turns]
    assert len(texts) == writers * each
    assert set(texts) == {f"w{w}-{n}" for w in range(writers) for n in range(each)}
    assert final.version == writers * each
    for w in range(writers):  # each writer's turns keep their order
        mine = [t for t in texts if t.startswith(f"w{w}-")]
        assert mine == [f"w{w}-{n}" for n in range(each)]


def test_compare_and_set_has_one_winner(make_store: StoreFactory) -> None:
    store = make_store()
    session = store.create("alice")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def write(writer: int) -> None:
        barrier.wait()
        try:
            store.append(session.id, [turn(f"w{writer}")], expected_version=0)
            outcomes.append("won")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
    assert len(store.get(session.id).turns) == 1


def test_reopen_sees_the_data(make_store: StoreFactory) -> None:
    first = make_store()
    session = first.create("alice", title="kept")
    first.append(session.id, [turn("persisted")])
    first.close()
    second = make_store()
    again = second.get(session.id, "alice")
    assert again is not None and [t.text for t in again.turns] == ["persisted"]
