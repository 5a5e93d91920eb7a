"""PostgreSQL session store (psycopg 3 with a connection pool), shared by any number of replicas.

Writes lock the session row with `SELECT ... FOR UPDATE` in one transaction, so concurrent
appends to one session queue up instead of overwriting each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, ClassVar

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

try:
    import psycopg
    from psycopg.rows import dict_row
    from psycopg.types.json import Jsonb
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # pragma: no cover - depends on the install
    raise SessionError(
        "the postgres session store needs psycopg 3 and psycopg-pool: "
        "pip install 'psycopg[binary]' psycopg-pool"
    ) from exc

# Any constant works; it only has to be the same in every Parley process.
_MIGRATION_LOCK = 0x7061726C6579  # "parley"

# Append-only (see `parley.sessions.migrations`): add new ones at the end.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "sessions and turns",
        """CREATE TABLE parley_sessions (
            id TEXT PRIMARY KEY,
            owner TEXT,
            title TEXT,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ,
            version INTEGER NOT NULL DEFAULT 0,
            turn_count INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE parley_turns (
            session_id TEXT NOT NULL REFERENCES parley_sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            text TEXT NOT NULL,
            time TIMESTAMPTZ NOT NULL,
            labels JSONB NOT NULL,
            sources JSONB NOT NULL,
            params JSONB NOT NULL,
            PRIMARY KEY (session_id, seq)
        )""",
        "CREATE INDEX parley_sessions_owner_updated ON parley_sessions (owner, updated_at DESC)",
        "CREATE INDEX parley_sessions_updated ON parley_sessions (updated_at DESC)",
        "CREATE INDEX parley_sessions_expires ON parley_sessions (expires_at) "
        "WHERE expires_at IS NOT NULL",
    ),
    Migration(
        "turn feedback: thumbs up/down and a comment on assistant turns (JSONB or NULL)",
        "ALTER TABLE parley_turns ADD COLUMN feedback JSONB",
    ),
)

VERSION_TABLE = VersionTable(
    create="CREATE TABLE IF NOT EXISTS parley_schema_version ("
    "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    insert="INSERT INTO parley_schema_version (version) VALUES (%s)",
    name="parley_schema_version",
)

_COLUMNS = "id, owner, title, created_at, updated_at, expires_at, version, turn_count"


def _configure(conn: psycopg.Connection[Any]) -> None:
    # Timestamps come back in the session time zone; UTC makes them equal what was stored.
    conn.execute("SET TIME ZONE 'UTC'")


class PostgresSessionStore(SessionStore):
    """Sessions in PostgreSQL tables `parley_sessions` and `parley_turns`."""

    name: ClassVar[str] = "postgres"

    @classmethod
    def from_settings(cls, settings: SessionSettings, *, shared: Shared) -> PostgresSessionStore:
        return cls(
            settings.postgres_dsn,
            pool_min=settings.postgres_pool_min,
            pool_max=settings.postgres_pool_max,
            ttl_seconds=settings.ttl_seconds,
            max_turns_per_session=settings.max_turns_per_session,
            clock=shared.clock,
        )

    def __init__(
        self,
        dsn: str,
        *,
        pool_min: int = 1,
        pool_max: int = 10,
        pool_timeout_s: float = 30.0,
        ttl_seconds: int | None = None,
        max_turns_per_session: int = 1000,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(
            ttl_seconds=ttl_seconds, max_turns_per_session=max_turns_per_session, clock=clock
        )
        # autocommit: every block below opens its own explicit transaction.
        self._pool = ConnectionPool(
            dsn,
            min_size=pool_min,
            max_size=pool_max,
            timeout=pool_timeout_s,
            kwargs={"autocommit": True},
            configure=_configure,
            name="parley-sessions",
            open=False,
        )
        try:
            self._pool.open(wait=True, timeout=pool_timeout_s)
            self._migrate()
        except Exception as exc:
            self._pool.close()
            raise SessionError(f"cannot use PostgreSQL for sessions: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield conn
        except psycopg.OperationalError as exc:
            raise SessionError(f"PostgreSQL session store: {exc}") from exc

    def _migrate(self) -> None:
        with self._transaction() as conn:
            # Replicas starting together: one migrates, the others wait and find it done.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            migrate(conn, MIGRATIONS, VERSION_TABLE, "PostgreSQL")

    def schema_version(self) -> int:
        """The schema version of the database."""
        with self._transaction() as conn:
            return current_version(conn, VERSION_TABLE)

    # -- rows -----------------------------------------------------------------------------

    @staticmethod
    def _live(row: dict[str, Any], owner: OwnerFilter, now: datetime) -> bool:
        return owner_matches(row["owner"], owner) and (
            row["expires_at"] is None or row["expires_at"] > now
        )

    @staticmethod
    def _row(
        conn: psycopg.Connection[Any], session_id: str, lock: bool = False
    ) -> dict[str, Any] | None:
        query = f"SELECT {_COLUMNS} FROM parley_sessions WHERE id = %s"
        with conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(query + (" FOR UPDATE" if lock else ""), (session_id,))
            return cursor.fetchone()

    @staticmethod
    def _load(conn: psycopg.Connection[Any], session_id: str) -> Session | None:
        # One statement, so one snapshot: the turns always match the session row's version.
        with conn.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute(
                "SELECT s.id, s.owner, s.title, s.created_at, s.updated_at, s.expires_at, "
                "s.version, t.role, t.text, t.time, t.labels, t.sources, t.params, t.feedback "
                "FROM parley_sessions s LEFT JOIN parley_turns t ON t.session_id = s.id "
                "WHERE s.id = %s ORDER BY t.seq",
                (session_id,),
            ).fetchall()
        if not rows:
            return None
        turns = [
            StoredTurn(
                role=r["role"],
                text=r["text"],
                time=r["time"],
                labels=r["labels"],
                sources=r["sources"],
                params=r["params"],
                feedback=r["feedback"],
            )
            for r in rows
            if r["role"] is not None
        ]
        session_columns = ("id", "owner", "title", "created_at", "updated_at", "expires_at")
        first = rows[0]
        return Session(
            **{name: first[name] for name in session_columns}, version=first["version"], turns=turns
        )

    def _touch(
        self, conn: psycopg.Connection[Any], session_id: str, now: datetime, turns: int
    ) -> None:
        conn.execute(
            "UPDATE parley_sessions SET version = version + 1, turn_count = turn_count + %s, "
            "updated_at = %s, expires_at = %s WHERE id = %s",
            (turns, now, self.expiry(now), session_id),
        )

    # -- the interface --------------------------------------------------------------------

    def create(
        self, owner: str | None, *, session_id: str | None = None, title: str | None = None
    ) -> Session:
        session_id = check_session_id(session_id) if session_id is not None else str(uuid.uuid4())
        with self._transaction() as conn:
            now = self.now()
            expires_at = self.expiry(now)
            # Frees the id of an expired leftover; a live one stays and makes the insert a no-op.
            conn.execute(
                "DELETE FROM parley_sessions WHERE id = %s AND expires_at <= %s",
                (session_id, now),
            )
            inserted = conn.execute(
                f"INSERT INTO parley_sessions ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, 0, 0) "
                "ON CONFLICT (id) DO NOTHING",
                (session_id, owner, title, now, now, expires_at),
            ).rowcount
            if not inserted:
                raise SessionExists(f"session {session_id!r} already exists")
        return Session.new(session_id, owner, title, now, expires_at)

    def get(self, session_id: str, owner: OwnerFilter = ANY_OWNER) -> Session | None:
        check_session_id(session_id)
        with self._transaction() as conn:
            # The owner and expiry first: another owner's session is never loaded, so "not
            # yours" costs what "missing" costs.
            row = self._row(conn, session_id)
            if row is None or not self._live(row, owner, self.now()):
                return None
            session = self._load(conn, session_id)
        if session is None or not owner_matches(session.owner, owner):
            return None  # replaced between the two reads
        return session

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
        dumped = [t.model_dump(mode="json") for t in turns]
        with self._transaction() as conn:
            # The row lock serialises writers of this session until COMMIT.
            row = self._row(conn, session_id, lock=True)
            now = self.now()
            if row is None or not self._live(row, owner, now):
                raise SessionNotFound(f"session {session_id!r} not found")
            version, count = row["version"], row["turn_count"]
            if conflict := self.version_conflict(session_id, version, expected_version):
                raise conflict
            self.check_room(session_id, count, len(turns))
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO parley_turns "
                    "(session_id, seq, role, text, time, labels, sources, params, feedback) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        (
                            session_id,
                            count + i,
                            t.role,
                            t.text,
                            t.time,
                            Jsonb(d["labels"]),
                            Jsonb(d["sources"]),
                            Jsonb(d["params"]),
                            Jsonb(d["feedback"]) if d["feedback"] is not None else None,
                        )
                        for i, (t, d) in enumerate(zip(turns, dumped, strict=True))
                    ],
                )
            self._touch(conn, session_id, now, turns=len(turns))
            return self._load(conn, session_id)  # type: ignore[return-value]

    def replace_turn(
        self, session_id: str, index: int, turn: StoredTurn, *, owner: OwnerFilter = ANY_OWNER
    ) -> None:
        check_session_id(session_id)
        data = turn.model_dump(mode="json")
        with self._transaction() as conn:
            row = self._row(conn, session_id, lock=True)
            now = self.now()
            if row is None or not self._live(row, owner, now):
                raise SessionNotFound(f"session {session_id!r} not found")
            self.check_turn_index(session_id, index, row["turn_count"])
            conn.execute(
                "UPDATE parley_turns SET role = %s, text = %s, time = %s, labels = %s, "
                "sources = %s, params = %s, feedback = %s WHERE session_id = %s AND seq = %s",
                (
                    turn.role,
                    turn.text,
                    turn.time,
                    Jsonb(data["labels"]),
                    Jsonb(data["sources"]),
                    Jsonb(data["params"]),
                    Jsonb(data["feedback"]) if turn.feedback else None,
                    session_id,
                    index,
                ),
            )
            self._touch(conn, session_id, now, turns=0)

    def set_feedback(
        self,
        session_id: str,
        turn: int,
        feedback: Feedback | None,
        *,
        owner: OwnerFilter = ANY_OWNER,
    ) -> Session:
        check_session_id(session_id)
        with self._transaction() as conn:
            row = self._row(conn, session_id, lock=True)
            if row is None or not self._live(row, owner, self.now()):
                raise SessionNotFound(f"session {session_id!r} not found")
            found = conn.execute(
                "SELECT role, labels FROM parley_turns WHERE session_id = %s AND seq = %s",
                (session_id, turn),
            ).fetchone()
            self.check_feedback_target(
                session_id, turn, found[0] if found else None, found[1] if found else None
            )
            value = Jsonb(feedback.model_dump(mode="json")) if feedback else None
            conn.execute(
                "UPDATE parley_turns SET feedback = %s WHERE session_id = %s AND seq = %s",
                (value, session_id, turn),
            )
            return self._load(conn, session_id)  # type: ignore[return-value]

    def rename(self, session_id: str, title: str, *, owner: OwnerFilter = ANY_OWNER) -> Session:
        check_session_id(session_id)
        with self._transaction() as conn:
            row = self._row(conn, session_id, lock=True)
            now = self.now()
            if row is None or not self._live(row, owner, now):
                raise SessionNotFound(f"session {session_id!r} not found")
            conn.execute("UPDATE parley_sessions SET title = %s WHERE id = %s", (title, session_id))
            self._touch(conn, session_id, now, turns=0)
            return self._load(conn, session_id)  # type: ignore[return-value]

    def list(
        self, owner: OwnerFilter = ANY_OWNER, *, limit: int = 50, offset: int = 0
    ) -> list[SessionSummary]:
        self.check_list_args(limit, offset)
        where = "(expires_at IS NULL OR expires_at > %s)"
        args: list[Any] = [self.now()]
        if owner is None:
            where += " AND owner IS NULL"  # `= NULL` never matches; this form uses the index
        elif owner is not ANY_OWNER:
            where += " AND owner = %s"
            args.append(owner)
        with self._transaction() as conn, conn.cursor(row_factory=dict_row) as cursor:
            rows = cursor.execute(
                f"SELECT {_COLUMNS} FROM parley_sessions WHERE {where} "
                "ORDER BY updated_at DESC, id DESC LIMIT %s OFFSET %s",
                (*args, limit, offset),
            ).fetchall()
        return [SessionSummary(**{k: v for k, v in r.items() if k != "version"}) for r in rows]

    def delete(self, session_id: str, *, owner: OwnerFilter = ANY_OWNER) -> bool:
        check_session_id(session_id)
        with self._transaction() as conn:
            row = self._row(conn, session_id, lock=True)
            if row is None or not owner_matches(row["owner"], owner):
                return False
            conn.execute("DELETE FROM parley_sessions WHERE id = %s", (session_id,))
            return self._live(row, owner, self.now())

    def purge_expired(self) -> int:
        with self._transaction() as conn:
            return conn.execute(
                "DELETE FROM parley_sessions WHERE expires_at IS NOT NULL AND expires_at <= %s",
                (self.now(),),
            ).rowcount

    def close(self) -> None:
        self._pool.close()
