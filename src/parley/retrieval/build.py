"""Building and updating index folders, safely with several processes.

A file lock beside the folder makes one process build while the others wait on the lock
(not polling for files) and then open what it built. Builds go to a staging folder that is
renamed into place, so nobody ever opens half an index.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
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
from parley.retrieval.sources import SkippedFile, SourceOptions, load_source
from parley.retrieval.table import ChunkTable

HEADING = "title (description)"
"""Recorded in the manifest: what `Chunk.embedding_text` puts before each chunk."""

ProgressCallback = Callable[[int, int, int], None]
"""`(chunks embedded, chunks in all, documents)`, called as embedding goes on."""


@dataclass
class BuildResult:
    index: KnowledgeIndex
    built: bool
    """True when this call built the index, False when it opened an existing one."""
    skipped: list[SkippedFile] = field(default_factory=list)
    """Files of folder sources that were not indexed, with the reason."""


@dataclass
class Ingested:
    """What an add changed: documents and chunks added, files skipped."""

    documents: int
    chunks: int
    skipped: list[SkippedFile] = field(default_factory=list)


def ingest_threads(settings: RetrievalSettings) -> int:
    """Intra-op threads for bulk embedding: the setting, else every core this process may use."""
    if settings.ingest_threads is not None:
        return settings.ingest_threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def load_documents(
    sources: Sequence[str], options: SourceOptions | None, skipped: list[SkippedFile]
) -> list[Document]:
    return [doc for spec in sources for doc in load_source(spec, options, skipped)]


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
            skipped: list[SkippedFile] = []
            build_index(
                folder,
                list(sources if sources is not None else settings.sources),
                settings,
                embedder,
                options=options,
                progress=progress,
                console=console,
                skipped=skipped,
            )
    except Timeout:
        raise RetrievalError(
            f"waited {settings.build_lock_timeout_s:.0f}s for another process building {folder}; "
            f"if none is running, delete {lock_for(folder).lock_file}"
        ) from None
    return BuildResult(open_index(folder, settings, embedder), built=True, skipped=skipped)


def build_index(
    folder: Path,
    sources: Sequence[str],
    settings: RetrievalSettings,
    embedder: TextEmbedder,
    *,
    options: SourceOptions | None = None,
    progress: bool = True,
    console: Console | None = None,
    skipped: list[SkippedFile] | None = None,
    on_progress: ProgressCallback | None = None,
    source_names: Sequence[str] | None = None,
    prepare: Callable[[list[Document]], None] | None = None,
) -> Manifest:
    """Builds an index from `sources` into `folder`, replacing it. Callers hold the lock.

    Files of folders that cannot be read are appended to `skipped` (and printed). Nothing
    changes at `folder` until the new index is complete: it is built aside and swapped in.
    `source_names` are recorded in the manifest instead of `sources` (e.g. upload names).
    """
    if not sources:
        raise RetrievalError("no sources given; name files, folders or 'wikipedia-vital-summaries'")
    started = time.perf_counter()
    skipped = skipped if skipped is not None else []
    docs = load_documents(sources, options, skipped)
    report_skipped(skipped, console if progress else None)
    if prepare is not None:
        prepare(docs)
    if not docs:
        raise RetrievalError(f"the sources {', '.join(source_names or sources)} contain no text")
    chunker = Chunker(embedder.count_tokens, settings.chunk_tokens, settings.chunk_overlap)
    chunks, vectors = embed_documents(
        docs,
        chunker,
        embedder,
        progress=progress,
        console=console,
        threads=ingest_threads(settings),
        on_progress=on_progress,
    )
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
    clean_stale(folder)
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
        sources=list(source_names or sources),
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
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


_STALE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>building|staging|old)-(?P<pid>\d+)(-[0-9a-f]+)?$")


def clean_stale(folder: Path) -> None:
    """Clears what a killed process left beside `folder` (callers hold its lock).

    A half-built or half-changed copy is deleted; a previous index moved aside by a process
    killed between the two renames of a swap is put back, so a kill never loses the base.
    """
    if not folder.parent.is_dir():
        return
    for entry in folder.parent.iterdir():
        match = _STALE.match(entry.name)
        if not match or match["name"] != folder.name or _alive(int(match["pid"])):
            continue
        if match["kind"] == "old" and not folder.exists():
            entry.rename(folder)
        else:
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftovers (an earlier call that failed) are stale too
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def staged_copy(folder: Path) -> Iterator[Path]:
    """A copy of the index at `folder` to change; swapped in when the block ends normally.

    Callers hold the lock. A crash or kill inside the block leaves `folder` as it was."""
    clean_stale(folder)
    if not (folder / "manifest.json").is_file():
        Manifest.load(folder)  # raises the clear "no index at ..." error
    staging = folder.parent / f".{folder.name}.staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    shutil.copytree(folder, staging)
    try:
        yield staging
        _swap_in(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def report_skipped(skipped: Sequence[SkippedFile], console: Console | None) -> None:
    """Lists the files a folder build left out, so none is dropped without a word."""
    if console is None or not skipped:
        return
    console.print(f"[yellow]skipped {len(skipped)} file(s):[/]")
    for item in skipped:
        console.print(f"  {item.path}: {item.reason}", highlight=False)


def embed_documents(
    docs: Sequence[Document],
    chunker: Chunker,
    embedder: TextEmbedder,
    *,
    progress: bool = True,
    console: Console | None = None,
    description: str = "Embedding",
    threads: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> tuple[list[Chunk], np.ndarray]:
    """Chunks the documents, then embeds the chunks with a progress bar counting chunks
    (with documents/s and time left), on `threads` intra-op threads."""
    chunks = list(chunker.chunk_all(docs))
    dim = embedder.dimension
    if not chunks:
        return chunks, np.zeros((0, dim), dtype=np.float32)
    done = 0
    with build_progress(console, enabled=progress, documents=len(docs)) as bar:
        task = bar.add_task(description, total=len(chunks))
        if on_progress is not None:
            on_progress(0, len(chunks), len(docs))

        def advance(count: int) -> None:
            nonlocal done
            done += count
            bar.advance(task, count)
            if on_progress is not None:
                on_progress(done, len(chunks), len(docs))

        from parley.retrieval.embedder import torch_threads

        with torch_threads(threads):
            vectors = embedder.embed([c.embedding_text() for c in chunks], on_batch=advance)
    return chunks, vectors


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
    on_progress: ProgressCallback | None = None,
    prepare: Callable[[list[Document]], None] | None = None,
    source_names: Sequence[str] | None = None,
    skipped: list[SkippedFile] | None = None,
) -> Ingested:
    """Adds documents to an existing index without re-embedding what is there.

    Documents already there (same doc id) are replaced when `replace`, so re-adding an edited
    file updates it. Chunking follows the manifest, so old and new chunks are alike. The
    change is made on a copy that is swapped in at the end: a crash leaves the index as it
    was. `prepare` may rename the documents (ids, sources) before they are indexed.
    """
    skipped = skipped if skipped is not None else []
    docs = load_documents(sources, options, skipped)
    report_skipped(skipped, console if progress else None)
    if prepare is not None:
        prepare(docs)
    if not docs:
        names = ", ".join(source_names or sources)
        raise RetrievalError(f"the sources {names} contain no text to add")
    lock = lock_for(folder).acquire(timeout=settings.build_lock_timeout_s)
    with lock, staged_copy(folder) as staging:
        index = open_index(staging, settings, embedder, writable=True)
        try:
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
                docs,
                chunker,
                embedder,
                progress=progress,
                console=console,
                threads=ingest_threads(settings),
                on_progress=on_progress,
            )
            index.add_chunks(chunks, vectors)
            index.refresh_keywords()
            index.save(list(source_names or sources))
        finally:
            index.close()
    return Ingested(len(docs), len(chunks), skipped)


def delete_from_index(
    folder: Path, selectors: Iterable[str], settings: RetrievalSettings
) -> list[str]:
    """Deletes documents by doc id, URI or source; returns the doc ids deleted."""
    with lock_for(folder).acquire(timeout=settings.build_lock_timeout_s):
        index = open_index(folder, settings, None)
        try:
            found = index.table.doc_ids_for(list(selectors))
        finally:
            index.close()
        if not found:
            return []
        with staged_copy(folder) as staging:
            index = open_index(staging, settings, None, writable=True)
            try:
                deleted = index.delete_documents(found)
                index.refresh_keywords()
                index.save()
            finally:
                index.close()
    return deleted
