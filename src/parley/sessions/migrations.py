"""One migration runner for the SQL session stores: named, append-only schema migrations.

A store lists its migrations in order; adding one is one line at the end of that list,
`Migration("what it does", "ALTER TABLE ...")`. Never edit or reorder a released one: a
database records how many it has applied, and a newer database than the code is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from parley.sessions.base import SessionError


@dataclass(frozen=True, init=False)
class Migration:
    """One schema version: a name saying what it does and its SQL statements, run together."""

    name: str
    statements: tuple[str, ...]

    def __init__(self, name: str, *statements: str) -> None:
        if not statements:
            raise ValueError(f"migration {name!r} has no statements")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "statements", statements)


@dataclass(frozen=True)
class VersionTable:
    """Where a database records its schema version, in one SQL dialect."""

    create: str
    """`CREATE TABLE IF NOT EXISTS ...` with an integer `version` column."""
    insert: str
    """Records one applied version; its one parameter is the version number."""
    name: str

    @property
    def current(self) -> str:
        return f"SELECT COALESCE(MAX(version), 0) AS version FROM {self.name}"


class Executes(Protocol):
    """A DB-API style connection (sqlite3, psycopg) inside an open transaction."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...


def current_version(conn: Executes, table: VersionTable) -> int:
    """How many migrations the database has applied."""
    return int(conn.execute(table.current).fetchone()[0])


def migrate(
    conn: Executes, migrations: Sequence[Migration], table: VersionTable, where: str
) -> int:
    """Apply the migrations the database lacks, in the caller's transaction; the version.

    `where` names the database in errors (a file path, "PostgreSQL")."""
    names = [m.name for m in migrations]
    if len(set(names)) != len(names):
        raise ValueError(f"migration names must be unique: {names}")
    conn.execute(table.create)
    version = current_version(conn, table)
    if version > len(migrations):
        raise SessionError(
            f"{where} has session schema version {version}, newer than this Parley knows "
            f"({len(migrations)}): upgrade Parley"
        )
    for number, migration in enumerate(migrations[version:], start=version + 1):
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute(table.insert, (number,))
    return len(migrations)
