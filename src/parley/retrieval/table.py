"""The text table: chunk texts, sources and metadata in SQLite, keyed by the Faiss id.

SQLite because a big table must not be loaded whole to serve a few hits, several processes
read it at once, and metadata filters become a query that yields the allowed ids.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parley.retrieval.documents import Chunk
from parley.retrieval.errors import RetrievalError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    title TEXT NOT NULL,
    uri TEXT NOT NULL,
    source TEXT NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    vector BLOB
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id, position);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks (source);
CREATE INDEX IF NOT EXISTS chunks_uri ON chunks (uri);
CREATE TABLE IF NOT EXISTS tombstones (id INTEGER PRIMARY KEY);
"""

# Filter keys that are columns; any other key is looked up in the metadata JSON.
COLUMN_FILTERS = ("doc_id", "title", "uri", "source")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")

Filters = dict[str, Any]
"""Metadata filters: key -> value, or key -> list of accepted values; all keys must match."""


@dataclass
class Row:
    """One chunk as stored."""

    id: int
    doc_id: str
    position: int
    title: str
    uri: str
    source: str
    text: str
    metadata: dict[str, Any]
    vector: np.ndarray | None = None


@dataclass
class DocumentRow:
    """One document as stored: its identity, title, where it came from, and its chunks."""

    doc_id: str
    title: str
    uri: str
    source: str
    chunks: int
    metadata: dict[str, Any]


class ChunkTable:
    """SQLite table of chunks. Read-only connections for serving, writable ones for builds."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        if read_only:
            if not self.path.exists():
                raise RetrievalError(f"text table {self.path} is missing; rebuild the index")
            uri = f"file:{self.path.resolve()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.executescript(_SCHEMA)
        # One connection shared by the server's threads; sqlite3 objects are not thread-safe.
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def insert(
        self, ids: Sequence[int], chunks: Sequence[Chunk], vectors: np.ndarray | None
    ) -> None:
        rows = [
            (
                int(id_),
                chunk.doc_id,
                chunk.position,
                chunk.title,
                chunk.uri,
                chunk.source,
                chunk.text,
                json.dumps(chunk.metadata, ensure_ascii=False, default=str),
                None if vectors is None else vectors[i].astype(np.float32).tobytes(),
            )
            for i, (id_, chunk) in enumerate(zip(ids, chunks, strict=True))
        ]
        with self._lock, self._db:
            self._db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def next_id(self) -> int:
        with self._lock:
            (high,) = self._db.execute(
                "SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM chunks "
                "UNION ALL SELECT MAX(id) FROM tombstones)"
            ).fetchone()
        return 0 if high is None else int(high) + 1

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def count_documents(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(DISTINCT doc_id) FROM chunks").fetchone()[0])

    def rows(self, ids: Sequence[int], *, with_vectors: bool = False) -> dict[int, Row]:
        """Rows by id; ids that are not in the table are absent from the result."""
        if not ids:
            return {}
        out: dict[int, Row] = {}
        wanted = [int(i) for i in ids]
        with self._lock:
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ",".join("?" * len(part))
                for record in self._db.execute(f"SELECT * FROM chunks WHERE id IN ({marks})", part):
                    row = _row(record, with_vectors)
                    out[row.id] = row
        return out

    def neighbours(self, doc_id: str, position: int, radius: int) -> list[Row]:
        """Chunks of the same document within `radius` positions, with vectors, in order."""
        with self._lock:
            records = self._db.execute(
                "SELECT * FROM chunks WHERE doc_id = ? AND position BETWEEN ? AND ? "
                "ORDER BY position",
                (doc_id, position - radius, position + radius),
            ).fetchall()
        return [_row(record, True) for record in records]

    def iter_texts(self) -> Iterator[tuple[int, str, str, dict[str, Any]]]:
        """(id, title, text, metadata) of every chunk in id order, for keyword indexing."""
        with self._lock:
            records = self._db.execute(
                "SELECT id, title, text, metadata FROM chunks ORDER BY id"
            ).fetchall()
        for id_, title, text, metadata in records:
            yield id_, title, text, json.loads(metadata) if metadata else {}

    def ids_matching(self, filters: Filters) -> np.ndarray:
        """Sorted int64 ids of chunks that match every filter."""
        clauses: list[str] = []
        params: list[Any] = []
        for key, value in filters.items():
            if not _KEY.match(key):
                raise RetrievalError(f"invalid filter key {key!r}: use letters, digits, _ . -")
            values = list(value) if isinstance(value, list | tuple | set) else [value]
            if not values:
                raise RetrievalError(f"filter {key!r} has an empty list of values")
            column = key if key in COLUMN_FILTERS else "json_extract(metadata, ?)"
            if key not in COLUMN_FILTERS:
                params.append(f'$."{key}"')
            clauses.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)
        where = " AND ".join(clauses) or "1"
        with self._lock:
            found = self._db.execute(f"SELECT id FROM chunks WHERE {where} ORDER BY id", params)
            return np.fromiter((r[0] for r in found), dtype=np.int64)

    def doc_ids_for(self, selectors: Sequence[str]) -> list[str]:
        """Documents named by doc id, URI or source spec."""
        found: set[str] = set()
        with self._lock:
            for selector in selectors:
                for (doc_id,) in self._db.execute(
                    "SELECT DISTINCT doc_id FROM chunks WHERE doc_id = ? OR uri = ? OR source = ?",
                    (selector, selector, selector),
                ):
                    found.add(doc_id)
        return sorted(found)

    def delete_documents(self, doc_ids: Sequence[str], *, tombstone: bool) -> np.ndarray:
        """Deletes the documents' chunks; returns their ids. Tombstones keep ids from reuse and
        hide them from indexes that cannot remove vectors (HNSW)."""
        ids: list[int] = []
        with self._lock, self._db:
            for doc_id in doc_ids:
                ids.extend(
                    r[0]
                    for r in self._db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))
                )
                self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            if tombstone:
                self._db.executemany(
                    "INSERT OR IGNORE INTO tombstones VALUES (?)", [(i,) for i in ids]
                )
        return np.array(sorted(ids), dtype=np.int64)

    def tombstones(self) -> np.ndarray:
        with self._lock:
            found = self._db.execute("SELECT id FROM tombstones ORDER BY id")
            return np.fromiter((r[0] for r in found), dtype=np.int64)

    def sample_titles(self, count: int) -> list[str]:
        """Up to `count` distinct document titles, picked at random (for suggested questions)."""
        with self._lock:
            found = self._db.execute(
                "SELECT title FROM (SELECT DISTINCT title FROM chunks WHERE title != '') "
                "ORDER BY random() LIMIT ?",
                (count,),
            )
            return [str(title) for (title,) in found]

    def documents(self, offset: int = 0, limit: int = 100) -> list[DocumentRow]:
        """Documents in the order they were added, with their chunk counts."""
        with self._lock:
            records = self._db.execute(
                "SELECT doc_id, MIN(title), MIN(uri), MIN(source), COUNT(*), MIN(metadata) "
                "FROM chunks GROUP BY doc_id ORDER BY MIN(id) LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        out = []
        for doc_id, title, uri, source, chunks, metadata in records:
            meta = json.loads(metadata) if metadata else {}
            out.append(DocumentRow(doc_id, title, uri, source, int(chunks), meta))
        return out

    def source_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(
                self._db.execute(
                    "SELECT source, COUNT(DISTINCT doc_id) FROM chunks GROUP BY source"
                )
            )


def _row(record: tuple[Any, ...], with_vector: bool) -> Row:
    id_, doc_id, position, title, uri, source, text, metadata, vector = record
    return Row(
        id=int(id_),
        doc_id=doc_id,
        position=int(position),
        title=title,
        uri=uri,
        source=source,
        text=text,
        metadata=json.loads(metadata) if metadata else {},
        vector=np.frombuffer(vector, dtype=np.float32) if with_vector and vector else None,
    )
