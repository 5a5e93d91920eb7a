"""Named knowledge bases: one index folder per name under `<data_dir>/indexes/`.

`KnowledgeBases` is what the chat and the server ask for a base by name. It opens a base on
first use and checks its manifest on every use: another process (a CLI `add`, another
replica's upload) swaps in a changed index by renaming folders, which gives the manifest a new
inode, and the next search here reopens the base. A `stat` per request costs microseconds.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.protocols import TextEmbedder
from parley.retrieval.build import delete_from_index, open_index
from parley.retrieval.documents import is_web_address
from parley.retrieval.errors import IndexNotFoundError, RetrievalError
from parley.retrieval.index import KnowledgeIndex
from parley.retrieval.manifest import MANIFEST_FILE
from parley.retrieval.retriever import IndexRetriever
from parley.retrieval.settings import INDEX_NAME, RetrievalSettings

INDEXES = "indexes"


class KnowledgeBaseNotFound(IndexNotFoundError):
    """No knowledge base of that name (or not a valid name)."""


def check_name(name: str) -> str:
    """`name` if it can name a knowledge base (a plain folder name); a clear error otherwise."""
    if not INDEX_NAME.match(name):
        raise KnowledgeBaseNotFound(
            f"{name!r} is not a knowledge base name: use letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit)"
        )
    return name


def document_key(doc_id: str) -> str:
    """The public id of a document: stable, short, and free of server paths."""
    return hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:16]


@dataclass
class _Opened:
    stamp: tuple[int, int]
    index: KnowledgeIndex
    retriever: IndexRetriever


class KnowledgeBases:
    """The named bases of one data directory, opened lazily and reopened when changed."""

    def __init__(
        self, settings: RetrievalSettings, data_dir: Path, embedder: TextEmbedder | None = None
    ) -> None:
        self.settings = settings
        self.root = Path(data_dir).expanduser() / INDEXES
        self.default = settings.index_name
        self._embedder = embedder
        self._opened: dict[str, _Opened] = {}
        self._lock = threading.Lock()

    @property
    def embedder(self) -> TextEmbedder:
        if self._embedder is None:
            from parley.retrieval.embedder import Embedder

            self._embedder = Embedder(
                self.settings.embedder, batch_size=self.settings.embed_batch_size
            )
        return self._embedder

    # -- names -----------------------------------------------------------------------------

    def folder(self, name: str | None = None) -> Path:
        """The folder of base `name` (the default when None)."""
        name = check_name(name or self.default)
        if name == self.default and self.settings.index_dir is not None:
            return self.settings.index_dir
        return self.root / name

    def exists(self, name: str) -> bool:
        try:
            return (self.folder(name) / MANIFEST_FILE).is_file()
        except KnowledgeBaseNotFound:
            return False

    def names(self) -> list[str]:
        """The bases there are, the default first."""
        found = set()
        if self.root.is_dir():
            found = {
                entry.name
                for entry in self.root.iterdir()
                if not entry.name.startswith(".") and (entry / MANIFEST_FILE).is_file()
            }
        if self.exists(self.default):
            found.add(self.default)
        return sorted(found, key=lambda n: (n != self.default, n))

    # -- searching -------------------------------------------------------------------------

    def retriever(self, name: str | None = None) -> IndexRetriever:
        """The retriever of base `name`, reopened when the base changed on disk."""
        name = name or self.default
        folder = self.folder(name)
        stamp = _stamp(folder)
        if stamp is None:
            with self._lock:
                cached = self._opened.get(name)
            if cached is not None:  # mid-swap (between two renames): keep serving the old one
                return cached.retriever
            raise KnowledgeBaseNotFound(f"knowledge base {name!r} not found")
        with self._lock:
            cached = self._opened.get(name)
            if cached is not None and cached.stamp == stamp:
                return cached.retriever
            try:
                index = open_index(folder, self.settings, self.embedder)
            except IndexNotFoundError:
                if cached is not None:
                    return cached.retriever
                raise KnowledgeBaseNotFound(f"knowledge base {name!r} not found") from None
            retriever = IndexRetriever.from_index(index, self.embedder, self.settings)
            # The replaced index is not closed here: a search in another thread may still be
            # reading it; its files stay readable after the swap and close when collected.
            self._opened[name] = _Opened(stamp, index, retriever)
            return retriever

    def adopt(self, name: str, index: KnowledgeIndex) -> None:
        """Serves an index already opened (e.g. just built) as base `name`."""
        stamp = _stamp(index.folder)
        if stamp is None:
            return
        retriever = IndexRetriever.from_index(index, self.embedder, self.settings)
        with self._lock:
            self._opened[name] = _Opened(stamp, index, retriever)

    # -- describing and changing -----------------------------------------------------------

    def summary(self, name: str) -> dict[str, Any]:
        """Counts and build facts of a base, for listings (no server paths)."""
        index = self.retriever(name).index
        m = index.manifest
        return {
            "name": name,
            "default": name == self.default,
            "documents": m.documents,
            "chunks": m.chunks,
            "embedder": m.embedder.model,
            "index_type": m.index.type,
            "hybrid": m.hybrid,
            "built_at": m.build.built_at,
            "updated_at": m.updated_at or m.build.built_at,
            "read_only": m.imported,
        }

    def documents(self, name: str, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of the base's documents with their chunk counts."""
        index = self.retriever(name).index
        rows = index.table.documents(offset, limit)
        return {
            "knowledge_base": name,
            "total": index.table.count_documents(),
            "offset": offset,
            "data": [
                {
                    "id": document_key(row.doc_id),
                    "name": _display_name(row.doc_id, row.title, row.metadata),
                    "title": row.title,
                    "uri": row.uri if is_web_address(row.uri) else "",
                    "chunks": row.chunks,
                    "uploaded": row.source == UPLOAD_SOURCE,
                }
                for row in rows
            ],
        }

    def delete_document(self, name: str, key: str) -> str:
        """Deletes the document with public id `key`; returns its doc id."""
        index = self.retriever(name).index
        doc_id = next(
            (d for d in _all_doc_ids(index) if document_key(d) == key),
            None,
        )
        if doc_id is None:
            raise DocumentNotFound(f"no document {key!r} in knowledge base {name!r}")
        delete_from_index(self.folder(name), [doc_id], self.settings)
        return doc_id


UPLOAD_SOURCE = "upload"
"""The `source` of documents added through the HTTP API."""


class DocumentNotFound(RetrievalError):
    """No document with that id in the base."""


def _display_name(doc_id: str, title: str, metadata: dict[str, Any]) -> str:
    """A file's name; a row of a table or JSON-lines file is its title and the file's name."""
    file = metadata.get("file")
    if not isinstance(file, str) or not file:
        return title
    if "#" in doc_id.rsplit("/", 1)[-1]:
        return f"{title} ({file})"
    return file


def _all_doc_ids(index: KnowledgeIndex) -> list[str]:
    count = index.table.count_documents()
    return [row.doc_id for row in index.table.documents(0, max(count, 1))]


def _stamp(folder: Path) -> tuple[int, int] | None:
    """What changes when an index is swapped in or saved: the manifest's inode and mtime."""
    try:
        info = os.stat(folder / MANIFEST_FILE)
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns
