"""The index folder's manifest: what built the index, so a mismatched embedder is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parley.retrieval.errors import IndexMismatchError, IndexNotFoundError, RetrievalError

MANIFEST_FILE = "manifest.json"
FORMAT_VERSION = 1


class EmbedderInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    dimension: int
    max_length: int | None = None


class ChunkingInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    max_tokens: int | None = None
    overlap_tokens: int | None = None
    heading: str | None = None
    """How chunks were prefixed before embedding, e.g. `title (description)`."""


class IndexInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    file: str = "index.faiss"
    """Relative to the folder, or absolute for an imported index left where it is."""
    nlist: int | None = None
    nprobe: int = 16
    hnsw_m: int | None = None
    ef_search: int = 64
    recall_at_10_vs_flat: float | None = None
    """Measured at build time for approximate indexes (1.0 for flat)."""


class BuildInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    build_id: str
    built_at: str
    seconds: float
    pid: int
    docs_per_s: float | None = None


class Manifest(BaseModel):
    """Everything needed to reuse an index safely."""

    model_config = ConfigDict(extra="allow")

    format_version: int = FORMAT_VERSION
    embedder: EmbedderInfo
    chunking: ChunkingInfo = Field(default_factory=ChunkingInfo)
    index: IndexInfo
    table_file: str = "chunks.sqlite"
    hybrid: bool = True
    """Whether a BM25 index was built (in `bm25/`)."""
    sources: list[str] = Field(default_factory=list)
    documents: int = 0
    chunks: int = 0
    build: BuildInfo
    updated_at: str | None = None
    imported: bool = False
    """An existing Faiss index plus text table (OpenChatKit's layout): read-only here."""

    def save(self, folder: Path) -> None:
        path = folder / MANIFEST_FILE
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST_FILE
        if not path.is_file():
            raise IndexNotFoundError(
                f"no index at {folder} (missing {MANIFEST_FILE}); build one with "
                "`parley index build`"
            )
        try:
            manifest = cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise RetrievalError(
                f"{path} is not a valid index manifest ({exc}); rebuild with "
                "`parley index build --force`"
            ) from None
        if manifest.format_version > FORMAT_VERSION:
            raise RetrievalError(
                f"{path} has format {manifest.format_version}, newer than this Parley "
                f"understands ({FORMAT_VERSION}); upgrade Parley or rebuild the index"
            )
        return manifest

    def check_embedder(self, model: str, dimension: int | None, folder: Path) -> None:
        """Refuses an index built with another embedder: its vectors would be meaningless."""
        if self.embedder.model != model or (
            dimension is not None and self.embedder.dimension != dimension
        ):
            raise IndexMismatchError(
                f"the index at {folder} was built with embedder {self.embedder.model!r} "
                f"({self.embedder.dimension} dimensions) but the settings use {model!r}"
                + (f" ({dimension} dimensions)" if dimension is not None else "")
                + f". Set retrieval.embedder = {self.embedder.model!r}, or rebuild the index "
                "with `parley index build --force`"
            )

    def resolve(self, folder: Path, name: str) -> Path:
        path = Path(name)
        return path if path.is_absolute() else folder / path
