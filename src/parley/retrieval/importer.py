"""Using an existing Faiss index plus its text table, as OpenChatKit ships Wikipedia.

OpenChatKit's layout is a Faiss file whose ids are row numbers of a Parquet table with a
`text_snippet` column. Importing writes a manifest and a text table next to it and leaves the
(possibly huge) Faiss file where it is, memory-mapped at load. Imported indexes are read-only.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import faiss

from parley.retrieval import vectors as vec
from parley.retrieval.documents import Chunk
from parley.retrieval.errors import RetrievalError, SourceError
from parley.retrieval.index import now_iso
from parley.retrieval.manifest import BuildInfo, EmbedderInfo, IndexInfo, Manifest
from parley.retrieval.sources import SourceOptions, load_source
from parley.retrieval.table import ChunkTable


def import_index(
    folder: Path,
    faiss_file: Path,
    table_file: Path,
    embedder: str,
    *,
    text_column: str = "text_snippet",
    title_column: str | None = None,
) -> Manifest:
    """Registers `faiss_file` + `table_file` as an index folder; row i is Faiss id i."""
    faiss_file, table_file = Path(faiss_file).resolve(), Path(table_file).resolve()
    if not faiss_file.is_file():
        raise SourceError(f"{faiss_file}: no such Faiss index file")
    try:
        index = faiss.read_index(str(faiss_file), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError as exc:
        raise SourceError(f"{faiss_file}: not a Faiss index ({str(exc)[:120]})") from None
    options = SourceOptions(text_column=text_column, title_column=title_column)
    docs = list(load_source(str(table_file), options))
    if len(docs) != index.ntotal:
        raise RetrievalError(
            f"{faiss_file} holds {index.ntotal:,} vectors but {table_file} has {len(docs):,} "
            "non-empty rows; the row order must match the Faiss ids"
        )
    staging = folder.parent / f".{folder.name}.importing-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    table = ChunkTable(staging / "chunks.sqlite")
    chunks = [Chunk(d.doc_id, 0, d.text, d.title, d.uri, d.source, d.metadata) for d in docs]
    table.insert(list(range(len(chunks))), chunks, None)
    table.close()
    manifest = Manifest(
        embedder=EmbedderInfo(model=embedder, dimension=index.d),
        index=IndexInfo(type=vec.kind_of(index), file=str(faiss_file), recall_at_10_vs_flat=None),
        hybrid=False,
        sources=[str(table_file)],
        documents=len(docs),
        chunks=len(chunks),
        build=BuildInfo(
            build_id=uuid.uuid4().hex, built_at=now_iso(), seconds=0.0, pid=os.getpid()
        ),
        imported=True,
    )
    manifest.save(staging)
    if folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)
    return manifest
