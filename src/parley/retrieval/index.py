"""A knowledge index: one folder with a manifest, a Faiss index, a text table and BM25.

<folder>/manifest.json   what built it (embedder, chunking, sources, counts, build time)
<folder>/index.faiss     vectors, keyed by text-table id
<folder>/chunks.sqlite   chunk texts, titles, URIs, metadata (and vectors, for widening)
<folder>/bm25/           keyword index (when hybrid)
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from parley.retrieval import vectors as vec
from parley.retrieval.bm25 import KeywordIndex
from parley.retrieval.documents import Chunk
from parley.retrieval.errors import RetrievalError
from parley.retrieval.manifest import Manifest
from parley.retrieval.table import ChunkTable, Filters

BM25_DIR = "bm25"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class KnowledgeIndex:
    """Searchable chunks: vector search, keyword search and filters over one folder."""

    def __init__(
        self,
        folder: Path,
        manifest: Manifest,
        index: faiss.Index,
        table: ChunkTable,
        keywords: KeywordIndex | None,
        *,
        writable: bool,
    ) -> None:
        self.folder = folder
        self.manifest = manifest
        self.faiss = index
        self.table = table
        self.keywords = keywords
        self.writable = writable
        # HNSW graphs cannot drop vectors: deleted ids stay in the graph and are excluded
        # inside every search instead.
        self.kind = vec.kind_of(index)
        self._excluded = table.tombstones() if self.kind == "hnsw" else None

    # ---- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        folder: Path,
        *,
        embedder_model: str | None = None,
        dimension: int | None = None,
        mmap: bool = True,
        writable: bool = False,
    ) -> KnowledgeIndex:
        """Opens an index folder, refusing one built with another embedder."""
        folder = Path(folder)
        manifest = Manifest.load(folder)
        if embedder_model is not None:
            manifest.check_embedder(embedder_model, dimension, folder)
        index_file = manifest.resolve(folder, manifest.index.file)
        if not index_file.is_file():
            raise RetrievalError(
                f"{index_file} is missing; rebuild with `parley index build --force`"
            )
        index = vec.read(index_file, mmap=mmap and not writable)
        if index.d != manifest.embedder.dimension:
            raise RetrievalError(
                f"{index_file} holds {index.d}-dimensional vectors but the manifest says "
                f"{manifest.embedder.dimension}; rebuild with `parley index build --force`"
            )
        table = ChunkTable(manifest.resolve(folder, manifest.table_file), read_only=not writable)
        keywords = None
        if manifest.hybrid and (folder / BM25_DIR).is_dir():
            keywords = KeywordIndex.load(folder / BM25_DIR, mmap=mmap and not writable)
        return cls(folder, manifest, index, table, keywords, writable=writable)

    def close(self) -> None:
        self.table.close()

    # ---- searching -----------------------------------------------------------------------

    def allowed_ids(self, filters: Filters | None) -> np.ndarray | None:
        """Ids passing `filters`, or None for no filter."""
        return self.table.ids_matching(filters) if filters else None

    def vector_search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(id, cosine) of the nearest chunks, filtered inside the Faiss search."""
        if self.faiss.ntotal == 0 or (allowed is not None and len(allowed) == 0):
            return []
        selector = vec.id_selector(allowed, self._excluded)
        scores, ids = vec.search(
            self.faiss,
            query.reshape(1, -1),
            min(k, self.faiss.ntotal),
            selector=selector,
            nprobe=self.manifest.index.nprobe,
            ef_search=self.manifest.index.ef_search,
        )
        return [(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]

    def keyword_search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(id, BM25 score) of the best keyword matches; empty when no BM25 index was built."""
        if self.keywords is None:
            return []
        return self.keywords.search(query, k, allowed)

    # ---- changing ------------------------------------------------------------------------

    def add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> np.ndarray:
        """Adds embedded chunks under fresh ids (no re-embedding of what is there)."""
        self._require_writable("add documents to")
        start = self.table.next_id()
        ids = np.arange(start, start + len(chunks), dtype=np.int64)
        if len(chunks):
            self.faiss.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
            self.table.insert(ids.tolist(), chunks, vectors)
        return ids

    def delete_documents(self, selectors: Sequence[str]) -> list[str]:
        """Deletes documents named by doc id, URI or source; returns the doc ids deleted."""
        self._require_writable("delete from")
        doc_ids = self.table.doc_ids_for(selectors)
        if not doc_ids:
            return []
        ids = self.table.delete_documents(doc_ids, tombstone=True)
        if not vec.remove(self.faiss, ids):
            self._excluded = self.table.tombstones()
        return doc_ids

    def refresh_keywords(self) -> None:
        """Rebuilds BM25 from the text table (seconds per 10k chunks; vectors are untouched)."""
        if not self.manifest.hybrid:
            return
        ids, texts = [], []
        for id_, title, text, metadata in self.table.iter_texts():
            ids.append(id_)
            texts.append(Chunk("", 0, text, title, "", metadata=metadata).embedding_text())
        self.keywords = KeywordIndex.build(ids, texts)
        target = self.folder / BM25_DIR
        staging = self.folder / (BM25_DIR + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        self.keywords.save(staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)

    def save(self, sources: Sequence[str] = ()) -> None:
        """Writes the Faiss index and an updated manifest."""
        self._require_writable("save")
        vec.write(self.faiss, self.manifest.resolve(self.folder, self.manifest.index.file))
        present = self.table.source_counts()
        listed = [*self.manifest.sources, *(s for s in sources if s not in self.manifest.sources)]
        self.manifest.sources = [s for s in listed if s in present]
        self.manifest.documents = self.table.count_documents()
        self.manifest.chunks = self.table.count()
        self.manifest.updated_at = now_iso()
        self.manifest.save(self.folder)

    def _require_writable(self, what: str) -> None:
        if not self.writable:
            raise RetrievalError(f"the index at {self.folder} is open read-only; cannot {what} it")
        if self.manifest.imported:
            raise RetrievalError(
                f"the index at {self.folder} was imported (an existing Faiss index and text "
                f"table) and is read-only; build a Parley index to {what.split()[0]} documents"
            )

    def info(self) -> dict[str, object]:
        """Manifest plus live counts, for `parley index info`."""
        data = self.manifest.model_dump()
        data["folder"] = str(self.folder)
        data["live"] = {
            "documents": self.table.count_documents(),
            "chunks": self.table.count(),
            "vectors": int(self.faiss.ntotal),
            "index_type": self.kind,
            "by_source": self.table.source_counts(),
        }
        return data
