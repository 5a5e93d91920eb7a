"""SQLite only: WAL, migrations, several processes on one file, and surviving kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from parley.sessions import SessionError, StoredTurn
from parley.sessions.sqlite_store import MIGRATIONS, SQLiteSessionStore

WRITER = textwrap.dedent(
    """
    import sys
    from parley.sessions import StoredTurn
    from parley.sessions.sqlite_store import SQLiteSessionStore

    path, session_id, count, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    store = SQLiteSessionStore(path, synchronous=sys.argv[5], max_turns_per_session=100_000)
    for n in range(count):
        store.append(session_id, [StoredTurn(role="user", text=f"{tag}-{n}")])
        print(n, flush=True)  # printed only after the append committed
    """
)


def _writer(path: Path, session_id: str, count: int, tag: str, sync: str = "FULL") -> list[str]:
    return [sys.executable, "-c", WRITER, str(path), session_id, str(count), tag, sync]


def test_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SQLiteSessionStore(path) as store:
        assert store.schema_version() == len(MIGRATIONS)
    with SQLiteSessionStore(path) as store:  # reopening migrates nothing twice
        assert store.schema_version() == len(MIGRATIONS)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = conn.execute("SELECT version FROM schema_version").fetchall()
    assert rows == [(n,) for n in range(1, len(MIGRATIONS) + 1)]
    conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (len(MIGRATIONS) + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(SessionError, match="upgrade Parley"):
        SQLiteSessionStore(path)


def test_creates_the_folder(tmp_path: Path) -> None:
    with SQLiteSessionStore(tmp_path / "a" / "b" / "sessions.db") as store:
        assert store.create("x").version == 0


@pytest.mark.parametrize("sync", ["FULL", "NORMAL"])
def test_survives_kill_9(tmp_path: Path, sync: str) -> None:
    path = tmp_path / "sessions.db"
    with SQLiteSessionStore(path) as store:
        session_id = store.create("alice").id
    writer = subprocess.Popen(
        _writer(path, session_id, 100_000, "w", sync), stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    acknowledged = -1
    deadline = time.monotonic() + 30
    while acknowledged < 200 and time.monotonic() < deadline:
        line = writer.stdout.readline()
        if not line:
            break
        acknowledged = int(line)
    os.kill(writer.pid, signal.SIGKILL)  # mid-write, with no chance to clean up
    writer.wait()
    assert acknowledged >= 200, "the writer did not get going"
    assert writer.returncode == -signal.SIGKILL
    with SQLiteSessionStore(path) as store:
        session = store.get(session_id)
        assert session is not None
        texts = [t.text for t in session.turns]
        # Every acknowledged append is there (the writer ran on a little past the last line
        # we read), in order with no gap, and the session row agrees with its turns.
        assert len(texts) > acknowledged
        assert texts == [f"w-{n}" for n in range(len(texts))]
        assert session.version == len(texts)
        store.append(session_id, [StoredTurn(role="assistant", text="after the crash")])
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_several_processes_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with SQLiteSessionStore(path) as store:
        session_id = store.create("alice").id
    writers = [
        subprocess.Popen(_writer(path, session_id, 40, f"p{i}"), stdout=subprocess.DEVNULL)
        for i in range(3)
    ]
    assert [w.wait(timeout=60) for w in writers] == [0, 0, 0]
    with SQLiteSessionStore(path) as store:
        texts = [t.text for t in store.get(session_id).turns]
    assert sorted(texts) == sorted(f"p{i}-{n}" for i in range(3) for n in range(40))


def test_closed_store_refuses(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    store.close()
    with pytest.raises(SessionError, match="closed"):
        store.create("alice")
