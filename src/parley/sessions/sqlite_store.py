"""SQLite session store: the default, one file in the data directory.

WAL journal, `BEGIN IMMEDIATE` around every write (so read-check-write is atomic across
threads and processes) and a busy timeout so that several processes can share the file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

from parley.registry import Shared
from parley.sessions.base import (
    ANY_OWNER,
    Clock,
    Feedback,
    OwnerFilter,
    Session,
    SessionError,
    SessionExists,
    SessionNotFound,
    SessionStore,
    SessionSummary,
    StoredTurn,
    check_session_id,
    owner_matches,
)
from parley.sessions.migrations import Migration, VersionTable, current_version, migrate
from parley.sessions.settings import SessionSettings

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# Append-only (see `parley.sessions.migrations`): add new ones at the end.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "sessions and turns",
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            owner TEXT,
            title TEXT,
            created_at INTEGER NOT NULL,  -- microseconds since the epoch, UTC
            updated_at INTEGER NOT NULL,
            expires_at INTEGER,           -- NULL: never expires
            version INTEGER NOT NULL DEFAULT 0,
            turn_count INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE turns (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            text TEXT NOT NULL,
            time INTEGER NOT NULL,
            labels TEXT NOT NULL,   -- JSON
            sources TEXT NOT NULL,  -- JSON
            params TEXT NOT NULL,   -- JSON
            PRIMARY KEY (session_id, seq)
        ) WITHOUT ROWID""",
        "CREATE INDEX sessions_owner_updated ON sessions (owner, updated_at DESC)",
        "CREATE INDEX sessions_updated ON sessions (updated_at DESC)",
        "CREATE INDEX sessions_expires ON sessions (expires_at) WHERE expires_at IS NOT NULL",
    ),
    Migration(
        "turn feedback: thumbs up/down and a comment on assistant turns (JSON or NULL)",
        "ALTER TABLE turns ADD COLUMN feedback TEXT",
    ),
)

VERSION_TABLE = VersionTable(
    create="CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
    insert="INSERT INTO schema_version (version, applied_at) "
    "VALUES (?, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'))",
    name="schema_version",
)

_SESSION_COLUMNS = "id, owner, title, created_at, updated_at, expires_at, version, turn_count"


def to_us(value: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding)."""
    return (value - _EPOCH) // _MICROSECOND


def from_us(value: int) -> datetime:
    """The UTC datetime of `to_us`'s integer."""
    return _EPOCH + value * _MICROSECOND


class SQLiteSessionStore(SessionStore):
    """Sessions in one SQLite file; safe across threads and processes."""

    name: ClassVar[str] = "sqlite"

    @classmethod
    def from_settings(cls, settings: SessionSettings, *, shared: Shared) -> SQLiteSessionStore:
        """`sessions.sqlite_path`, or `<data_dir>/sessions.db`."""
        path = settings.sqlite_path or shared.folder("sessions.db")
        return cls(
            path,
            synchronous=settings.sqlite_synchronous,
            ttl_seconds=settings.ttl_seconds,
            max_turns_per_session=settings.max_turns_per_session,
            clock=shared.clock,
        )

    def __init__(
        self,
        path: Path | str,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "FULL",
        busy_timeout_s: float = 10.0,
        ttl_seconds: int | None = None,
        max_turns_per_session: int = 1000,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            ttl_seconds=ttl_seconds, max_turns_per_session=max_turns_per_session, clock=clock
        )
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous
        self._busy_timeout_s = busy_timeout_s
        # One connection per thread: sqlite3 connections must not be used by two threads at
        # once, and separate connections let WAL readers run beside the writer.
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._closed = False
        self._migrate()

    # -- connections and transactions -----------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._lock:
            if self._closed:
                raise SessionError("the session store is closed")
            # isolation_level=None: we issue BEGIN/COMMIT ourselves (BEGIN IMMEDIATE for writes).
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.row_factory = sqlite3.Row  # rows are read by column name
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        # Writers of this process queue on a lock: SQLite's busy handler polls with growing
        # sleeps, which starves some threads (p99 appends of seconds with 8 threads); the busy
        # timeout still arbitrates between processes.
        lock = self._write_lock if write else nullcontext()
        with lock, self._transaction_unlocked(write) as conn:
            yield conn

    @contextmanager
    def _transaction_unlocked(self, write: bool) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        try:
            # IMMEDIATE takes the write lock up front, so no two writers both read a session and
            # then write it (the lost update of get-then-put); readers get one snapshot.
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise SessionError(f"SQLite session store {self.path}: {exc}") from exc
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _migrate(self) -> None:
        with self._transaction(write=True) as conn:
            migrate(conn, MIGRATIONS, VERSION_TABLE, str(self.path))

    def schema_version(self) -> int:
        """The schema version of the database file."""
        with self._transaction(write=False) as conn:
            return current_version(conn, VERSION_TABLE)

    # -- rows -----------------------------------------------------------------------------

    def _live(self, row: sqlite3.Row, owner: OwnerFilter, now_us: int) -> bool:
        expires_at = row["expires_at"]
        return owner_matches(row["owner"], owner) and (expires_at is None or expires_at > now_us)

    @staticmethod
    def _session_row(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row | None:
        query = f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?"
        return conn.execute(query, (session_id,)).fetchone()

    @staticmethod
    def _session(conn: sqlite3.Connection, row: sqlite3.Row) -> Session:
        turns = [
            StoredTurn(
                role=role,
                text=text,
                time=from_us(time),
                labels=json.loads(labels),
                sources=json.loads(sources),
                params=json.loads(params),
                feedback=Feedback.model_validate_json(feedback) if feedback else None,
            )
            for role, text, time, labels, sources, params, feedback in conn.execute(
                "SELECT role, text, time, labels, sources, params, feedback FROM turns "
                "WHERE session_id = ? ORDER BY seq",
                (row["id"],),
            )
        ]
        return Session(
            id=row["id"],
            owner=row["owner"],
            title=row["title"],
            created_at=from_us(row["created_at"]),
            updated_at=from_us(row["updated_at"]),
            expires_at=from_us(row["expires_at"]) if row["expires_at"] is not None else None,
            version=row["version"],
            turns=turns,
        )

    @staticmethod
    def _turn_row(session_id: str, seq: int, turn: StoredTurn) -> tuple[Any, ...]:
        data = turn.model_dump(mode="json")  # enums, datetimes etc. become JSON-safe
        return (
            session_id,
            seq,
            turn.role,
            turn.text,
            to_us(turn.time),
            json.dumps(data["labels"]),
            json.dumps(data["sources"]),
            json.dumps(data["params"]),
            turn.feedback.model_dump_json() if turn.feedback else None,
        )

    # -- the interface --------------------------------------------------------------------

    def create(
        self, owner: str | None, *, session_id: str | None = None, title: str | None = None
    ) -> Session:
        session_id = check_session_id(session_id) if session_id is not None else str(uuid.uuid4())
        with self._transaction(write=True) as conn:
            now = self.now()
            row = self._session_row(conn, session_id)
            if row is not None:
                if self._live(row, ANY_OWNER, to_us(now)):
                    raise SessionExists(f"session {session_id!r} already exists")
                # An expired leftover not purged yet: the id is free again.
                conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            expires_at = self.expiry(now)
            conn.execute(
                f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
                (
                    session_id,
                    owner,
                    title,
                    to_us(now),
                    to_us(now),
                    to_us(expires_at) if expires_at is not None else None,
                ),
            )
        return Session.new(session_id, owner, title, now, expires_at)

    def get(self, session_id: str, owner: OwnerFilter = ANY_OWNER) -> Session | None:
        check_session_id(session_id)
        with self._transaction(write=False) as conn:
            row = self._session_row(conn, session_id)
            if row is None or not self._live(row, owner, to_us(self.now())):
                return None
            return self._session(conn, row)

    def append(
        self,
        session_id: str,
        turns: Sequence[StoredTurn],
        *,
        owner: OwnerFilter = ANY_OWNER,
        expected_version: int | None = None,
    ) -> Session:
        check_session_id(session_id)
        turns = self.check_turns(turns)
        with self._transaction(write=True) as conn:
            now = self.now()
            row = self._session_row(conn, session_id)
            if row is None or not self._live(row, owner, to_us(now)):
                raise SessionNotFound(f"session {session_id!r} not found")
            version, count = row["version"], row["turn_count"]
            if conflict := self.version_conflict(session_id, version, expected_version):
                raise conflict
            self.check_room(session_id, count, len(turns))
            conn.executemany(
                "INSERT INTO turns "
                "(session_id, seq, role, text, time, labels, sources, params, feedback) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [self._turn_row(session_id, count + i, t) for i, t in enumerate(turns)],
            )
            self._touch(conn, session_id, now, turns=len(turns))
            return self._session(conn, self._session_row(conn, session_id))  # type: ignore[arg-type]

    def replace_turn(
        self, session_id: str, index: int, turn: StoredTurn, *, owner: OwnerFilter = ANY_OWNER
    ) -> None:
        check_session_id(session_id)
        with self._transaction(write=True) as conn:
            now = self.now()
            row = self._session_row(conn, session_id)
            if row is None or not self._live(row, owner, to_us(now)):
                raise SessionNotFound(f"session {session_id!r} not found")
            self.check_turn_index(session_id, index, row["turn_count"])
            conn.execute(
                "UPDATE turns SET role = ?, text = ?, time = ?, labels = ?, sources = ?, "
                "params = ?, feedback = ? WHERE session_id = ? AND seq = ?",
                (*self._turn_row(session_id, index, turn)[2:], session_id, index),
            )
            self._touch(conn, session_id, now, turns=0)

    def _touch(self, conn: sqlite3.Connection, session_id: str, now: datetime, turns: int) -> None:
        expires_at = self.expiry(now)
        conn.execute(
            "UPDATE sessions SET version = version + 1, turn_count = turn_count + ?, "
            "updated_at = ?, expires_at = ? WHERE id = ?",
            (
                turns,
                to_us(now),
                to_us(expires_at) if expires_at is not None else None,
                session_id,
            ),
        )

    def set_feedback(
        self,
        session_id: str,
        turn: int,
        feedback: Feedback | None,
        *,
        owner: OwnerFilter = ANY_OWNER,
    ) -> Session:
        check_session_id(session_id)
        with self._transaction(write=True) as conn:
            row = self._session_row(conn, session_id)
            if row is None or not self._live(row, owner, to_us(self.now())):
                raise SessionNotFound(f"session {session_id!r} not found")
            found = conn.execute(
                "SELECT role, labels FROM turns WHERE session_id = ? AND seq = ?",
                (session_id, turn),
            ).fetchone()
            self.check_feedback_target(
                session_id,
                turn,
                found[0] if found else None,
                json.loads(found[1]) if found else None,
            )
            conn.execute(
                "UPDATE turns SET feedback = ? WHERE session_id = ? AND seq = ?",
                (feedback.model_dump_json() if feedback else None, session_id, turn),
            )
            return self._session(conn, row)

    def rename(self, session_id: str, title: str, *, owner: OwnerFilter = ANY_OWNER) -> Session:
        check_session_id(session_id)
        with self._transaction(write=True) as conn:
            now = self.now()
            row = self._session_row(conn, session_id)
            if row is None or not self._live(row, owner, to_us(now)):
                raise SessionNotFound(f"session {session_id!r} not found")
            conn.execute("UPDATE sessions SET title = ? WHERE id = ?", (title, session_id))
            self._touch(conn, session_id, now, turns=0)
            return self._session(conn, self._session_row(conn, session_id))  # type: ignore[arg-type]

    def list(
        self, owner: OwnerFilter = ANY_OWNER, *, limit: int = 50, offset: int = 0
    ) -> list[SessionSummary]:
        self.check_list_args(limit, offset)
        where = "(expires_at IS NULL OR expires_at > ?)"
        args: list[Any] = [to_us(self.now())]
        if owner is not ANY_OWNER:
            where += " AND owner IS ?"
            args.append(owner)
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE {where} "
                "ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        return [
            SessionSummary(
                id=row["id"],
                owner=row["owner"],
                title=row["title"],
                created_at=from_us(row["created_at"]),
                updated_at=from_us(row["updated_at"]),
                expires_at=from_us(row["expires_at"]) if row["expires_at"] is not None else None,
                turn_count=row["turn_count"],
            )
            for row in rows
        ]

    def delete(self, session_id: str, *, owner: OwnerFilter = ANY_OWNER) -> bool:
        check_session_id(session_id)
        with self._transaction(write=True) as conn:
            row = self._session_row(conn, session_id)
            if row is None or not owner_matches(row["owner"], owner):
                return False
            live = self._live(row, owner, to_us(self.now()))
            # Turns go with it (ON DELETE CASCADE).
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            return live

    def purge_expired(self) -> int:
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "DELETE FROM sessions WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (to_us(self.now()),),
            )
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()
