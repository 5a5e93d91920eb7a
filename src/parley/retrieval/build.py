"""Building and updating index folders, safely with several processes.

A file lock beside the folder makes one process build while the others wait on the lock
(not polling for files) and then open what it built. Builds go to a staging folder that is
renamed into place, so nobody ever opens half an index.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout
from rich.console import Console

from parley.protocols import TextEmbedder
from parley.retrieval import vectors as vec
from parley.retrieval.chunking import Chunker
from parley.retrieval.documents import Chunk, Document
from parley.retrieval.errors import IndexNotFoundError, RetrievalError
from parley.retrieval.index import KnowledgeIndex, now_iso
from parley.retrieval.manifest import (
    BuildInfo,
    ChunkingInfo,
    EmbedderInfo,
    IndexInfo,
    Manifest,
)
from parley.retrieval.progress import build_progress
from parley.retrieval.settings import RetrievalSettings
from parley.retrieval.sources import SourceOptions, load_source
from parley.retrieval.table import ChunkTable

HEADING = "title (description)"
"""Recorded in the manifest: what `Chunk.embedding_text` puts before each chunk."""
DOC_BATCH = 512
"""Documents chunked and embedded together: big enough to sort by length, small enough
for a smooth progress bar."""


@dataclass
class BuildResult:
    index: KnowledgeIndex
    built: bool
    """True when this call built the index, False when it opened an existing one."""


def lock_for(folder: Path) -> FileLock:
    """The build lock of an index folder (a file beside it, so it survives the rename)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder.parent / f".{folder.name}.lock"))


def open_index(
    folder: Path,
    settings: RetrievalSettings,
    embedder: TextEmbedder | None,
    *,
    writable: bool = False,
) -> KnowledgeIndex:
    return KnowledgeIndex.open(
        folder,
        embedder_model=settings.embedder,
        dimension=embedder.dimension if embedder is not None else None,
        mmap=settings.mmap,
        writable=writable,
    )


def open_or_build(
    folder: Path,
    settings: RetrievalSettings,
    embedder: TextEmbedder,
    *,
    sources: Sequence[str] | None = None,
    options: SourceOptions | None = None,
    force: bool = False,
    progress: bool = True,
    console: Console | None = None,
) -> BuildResult:
    """Opens the index at `folder`, building it first if missing (or if `force`).

    Of several processes calling this at once, one builds and the others block on the lock
    and then open the finished index.
    """
    folder = Path(folder)
    if not force:
        try:
            return BuildResult(open_index(folder, settings, embedder), built=False)
        except IndexNotFoundError:
            pass
    try:
        with lock_for(folder).acquire(timeout=settings.build_lock_timeout_s):
            if not force:
                try:  # another process may have built it while we waited
                    return BuildResult(open_index(folder, settings, embedder), built=False)
                except IndexNotFoundError:
                    pass
            build_index(
                folder,
                list(sources if sources is not None else settings.sources),
                settings,
                embedder,
                options=options,
                progress=progress,
                console=console,
            )
    except Timeout:
        raise RetrievalError(
            f"waited {settings.build_lock_timeout_s:.0f}s for another process building {folder}; "
            f"if none is running, delete {lock_for(folder).lock_file}"
        ) from None
    return BuildResult(open_index(folder, settings, embedder), built=True)


def build_index(
    folder: Path,
    sources: Sequence[str],
    settings: RetrievalSettings,
    embedder: TextEmbedder,
    *,
    options: SourceOptions | None = None,
    progress: bool = True,
    console: Console | None = None,
) -> Manifest:
    """Builds an index from `sources` into `folder`, replacing it. Callers hold the lock."""
    if not sources:
        raise RetrievalError("no sources given; name files, folders or 'wikipedia-vital-summaries'")
    started = time.perf_counter()
    docs = [doc for spec in sources for doc in load_source(spec, options)]
    if not docs:
        raise RetrievalError(f"the sources {', '.join(sources)} contain no text")
    chunker = Chunker(embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap)
    chunks, vectors = embed_documents(docs, chunker, embedder, progress=progress, console=console)
    kind = settings.index_type
    if kind == "auto":
        kind = "flat" if len(chunks) <= settings.auto_flat_max else "hnsw"
    index = vec.make_index(
        kind,
        vectors,
        nlist=settings.ivf_nlist,
        hnsw_m=settings.hnsw_m,
        ef_construction=settings.hnsw_ef_construction,
    )
    ids = np.arange(len(chunks), dtype=np.int64)
    index.add_with_ids(vectors, ids)
    recall = 1.0
    if kind != "flat":
        recall = vec.recall_vs_flat(
            index, vectors, ids, nprobe=settings.ivf_nprobe, ef_search=settings.hnsw_ef_search
        )
        if console is not None and progress:
            console.print(f"{kind} index: recall@10 vs flat = {recall:.3f}")

    staging = folder.parent / f".{folder.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    manifest = Manifest(
        embedder=EmbedderInfo(
            model=settings.embedder, dimension=embedder.dimension, max_length=embedder.max_length
        ),
        chunking=ChunkingInfo(
            max_tokens=settings.chunk_tokens,
            overlap_tokens=settings.chunk_overlap,
            heading=HEADING,
        ),
        index=IndexInfo(
            type=kind,
            nlist=int(index.nlist) if kind == "ivf" else None,
            nprobe=settings.ivf_nprobe,
            hnsw_m=settings.hnsw_m if kind == "hnsw" else None,
            ef_search=settings.hnsw_ef_search,
            recall_at_10_vs_flat=round(recall, 4),
        ),
        hybrid=settings.hybrid,
        sources=list(sources),
        documents=len(docs),
        chunks=len(chunks),
        build=BuildInfo(
            build_id=uuid.uuid4().hex,
            built_at=now_iso(),
            seconds=0.0,
            pid=os.getpid(),
            docs_per_s=None,
        ),
    )
    try:
        table = ChunkTable(staging / manifest.table_file)
        table.insert(ids.tolist(), chunks, vectors)
        vec.write(index, staging / manifest.index.file)
        staged = KnowledgeIndex(staging, manifest, index, table, None, writable=True)
        staged.refresh_keywords()
        staged.close()
        seconds = time.perf_counter() - started
        manifest.build.seconds = round(seconds, 2)
        manifest.build.docs_per_s = round(len(docs) / seconds, 1)
        manifest.save(staging)
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # never leave half an index behind
        raise
    return manifest


def _swap_in(staging: Path, folder: Path) -> None:
    """Renames the staging folder into place; readers of the old one keep their open files."""
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def embed_documents(
    docs: Sequence[Document],
    chunker: Chunker,
    embedder: TextEmbedder,
    *,
    progress: bool = True,
    console: Console | None = None,
    description: str = "Embedding",
) -> tuple[list[Chunk], np.ndarray]:
    """Chunks and embeds documents in batches, with a progress bar counting documents."""
    chunks: list[Chunk] = []
    parts: list[np.ndarray] = []
    with build_progress(console, enabled=progress) as bar:
        task = bar.add_task(description, total=len(docs))
        for start in range(0, len(docs), DOC_BATCH):
            batch = docs[start : start + DOC_BATCH]
            batch_chunks = list(chunker.chunk_all(batch))
            parts.append(embedder.embed([c.embedding_text() for c in batch_chunks]))
            chunks.extend(batch_chunks)
            bar.advance(task, len(batch))
    dim = embedder.dimension
    return chunks, (np.concatenate(parts) if parts else np.zeros((0, dim), dtype=np.float32))


def add_to_index(
    folder: Path,
    sources: Sequence[str],
    settings: RetrievalSettings,
    embedder: TextEmbedder,
    *,
    options: SourceOptions | None = None,
    replace: bool = True,
    progress: bool = True,
    console: Console | None = None,
) -> tuple[int, int]:
    """Adds documents to an existing index without rebuilding it; (documents, chunks) added.

    Documents already there (same doc id) are replaced when `replace`, so re-adding an edited
    file updates it. Chunking follows the manifest, so old and new chunks are alike.
    """
    with lock_for(folder).acquire(timeout=settings.build_lock_timeout_s):
        index = open_index(folder, settings, embedder, writable=True)
        try:
            docs = [doc for spec in sources for doc in load_source(spec, options)]
            if replace:
                index.delete_documents(sorted({d.doc_id for d in docs}))
            chunking = index.manifest.chunking
            chunker = Chunker(
                embedder.count_tokens,
                chunking.max_tokens or settings.chunk_tokens,
                chunking.overlap_tokens
                if chunking.overlap_tokens is not None
                else settings.chunk_overlap,
            )
            chunks, vectors = embed_documents(
                docs, chunker, embedder, progress=progress, console=console
            )
            index.add_chunks(chunks, vectors)
            index.refresh_keywords()
            index.save(sources)
        finally:
            index.close()
    return len(docs), len(chunks)


def delete_from_index(
    folder: Path, selectors: Iterable[str], settings: RetrievalSettings
) -> list[str]:
    """Deletes documents by doc id, URI or source; returns the doc ids deleted."""
    with lock_for(folder).acquire(timeout=settings.build_lock_timeout_s):
        index = open_index(folder, settings, None, writable=True)
        try:
            deleted = index.delete_documents(list(selectors))
            if deleted:
                index.refresh_keywords()
                index.save()
        finally:
            index.close()
    return deleted
