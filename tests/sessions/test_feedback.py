"""Feedback on turns, the same contract on every store (SQLite, PostgreSQL, DynamoDB/moto)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parley.sessions import (
    PENDING,
    Feedback,
    NotAnAnswer,
    SessionNotFound,
    SessionStore,
    StoredTurn,
    TurnNotFound,
    TurnPending,
)
from parley.sessions.export import training_record
from tests.sessions.conftest import FakeClock


def _conversation(store: SessionStore, owner: str | None = "alice") -> str:
    session = store.create(owner)
    store.append(
        session.id,
        [
            StoredTurn(role="user", text="Hi"),
            StoredTurn(role="assistant", text="Hello!", labels={"finish_reason": "stop"}),
            StoredTurn(role="user", text="Price?"),
            StoredTurn(role="assistant", text="2,490 euros."),
        ],
    )
    return session.id


def test_rate_change_and_remove(store: SessionStore) -> None:
    session_id = _conversation(store)
    before = store.get(session_id)
    assert before is not None and all(t.feedback is None for t in before.turns)
    rated = store.set_feedback(session_id, 3, Feedback(rating="good"), owner="alice")
    assert rated.turns[3].feedback is not None and rated.turns[3].feedback.rating == "good"
    assert rated.turns[3].text == "2,490 euros."
    again = store.get(session_id)
    assert again is not None
    assert again.turns[3].feedback == rated.turns[3].feedback
    assert again.turns[1].feedback is None
    # Not a change of the conversation: version and updated_at stay, appends still line up.
    assert (again.version, again.updated_at) == (before.version, before.updated_at)
    store.append(session_id, [StoredTurn(role="user", text="x")], expected_version=1)

    comment = Feedback(rating="bad", comment="Wrong price", time=datetime(2026, 1, 2, tzinfo=UTC))
    store.set_feedback(session_id, 1, comment)
    turns = store.get(session_id).turns  # type: ignore[union-attr]
    assert turns[1].feedback == comment
    assert turns[3].feedback is not None and turns[3].feedback.rating == "good"
    store.set_feedback(session_id, 3, None)
    assert store.get(session_id).turns[3].feedback is None  # type: ignore[union-attr]
    exported = store.export(session_id)
    assert exported["turns"][1]["feedback"]["comment"] == "Wrong price"


def test_feedback_errors(store: SessionStore, clock: FakeClock) -> None:
    session_id = _conversation(store)
    with pytest.raises(NotAnAnswer):
        store.set_feedback(session_id, 0, Feedback(rating="good"))
    for missing in (4, 99, -1):
        with pytest.raises(TurnNotFound):
            store.set_feedback(session_id, missing, Feedback(rating="good"))
    with pytest.raises(SessionNotFound):
        store.set_feedback(session_id, 1, Feedback(rating="good"), owner="bob")
    with pytest.raises(SessionNotFound):
        store.set_feedback("no-such-session", 1, Feedback(rating="good"))
    clock.advance(7200)  # past the one-hour TTL
    with pytest.raises(SessionNotFound):
        store.set_feedback(session_id, 1, Feedback(rating="good"))


def test_pending_reply_is_refused_then_rated_once_written(store: SessionStore) -> None:
    # A message is stored on acceptance with an empty pending reply after it; the index the
    # client rates is that reply's, before and after `replace_turn` fills it in.
    session_id = _conversation(store)
    pending = StoredTurn(role="assistant", text="", labels={"finish_reason": PENDING})
    stored = store.append(session_id, [StoredTurn(role="user", text="Size?"), pending])
    index = len(stored.turns) - 1
    with pytest.raises(TurnPending, match="still being written"):
        store.set_feedback(session_id, index, Feedback(rating="good"))
    assert store.get(session_id).turns[index].feedback is None  # type: ignore[union-attr]
    reply = StoredTurn(role="assistant", text="42 cm.", labels={"finish_reason": "stop"})
    store.replace_turn(session_id, index, reply)
    rated = store.set_feedback(session_id, index, Feedback(rating="bad", comment="too small"))
    assert rated.turns[index].text == "42 cm."
    assert rated.turns[index].feedback is not None
    assert rated.turns[index].feedback.comment == "too small"
    assert rated.turns[index - 1].text == "Size?" and rated.turns[index - 1].feedback is None
    assert rated.turns[3].feedback is None  # the earlier reply is untouched


def test_export_rated_good_learns_only_rated_replies(store: SessionStore) -> None:
    session_id = _conversation(store, owner=None)
    store.set_feedback(session_id, 1, Feedback(rating="good"))
    session = store.get(session_id)
    assert session is not None
    record = training_record(session, "good")
    assert record is not None
    # Ends at the last reply rated good; the later, unrated exchange is left out.
    assert [m["content"] for m in record["messages"]] == ["Hi", "Hello!"]
    assert "weight" not in record["messages"][1]
    assert record["messages"][1]["feedback"]["rating"] == "good"
    assert training_record(session, "bad") is None
    everything = training_record(session)
    assert everything is not None and len(everything["messages"]) == 4
    store.set_feedback(session_id, 3, Feedback(rating="good"))
    both = training_record(store.get(session_id), "good")  # type: ignore[arg-type]
    assert both is not None and [m.get("weight", 1) for m in both["messages"]] == [1, 1, 1, 1]


def test_sqlite_feedback_migration_upgrades_an_old_file(tmp_path: Path) -> None:
    """A sessions.db written before feedback existed (schema 1) gains the column, keeps data."""
    from parley.sessions.sqlite_store import MIGRATIONS, SQLiteSessionStore

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)")
    for statement in MIGRATIONS[0].statements:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (1, 'then')")
    conn.execute("INSERT INTO sessions VALUES ('s1', NULL, NULL, 0, 0, NULL, 1, 2)")
    conn.execute("INSERT INTO turns VALUES ('s1', 0, 'user', 'Hi', 0, '{}', '[]', '{}')")
    conn.execute("INSERT INTO turns VALUES ('s1', 1, 'assistant', 'Hello', 0, '{}', '[]', '{}')")
    conn.commit()
    conn.close()
    with SQLiteSessionStore(path) as store:
        assert store.schema_version() == len(MIGRATIONS) == 2
        session = store.get("s1")
        assert session is not None and [t.text for t in session.turns] == ["Hi", "Hello"]
        store.set_feedback("s1", 1, Feedback(rating="bad"))
        assert store.get("s1").turns[1].feedback.rating == "bad"  # type: ignore[union-attr]
