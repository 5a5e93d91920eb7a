"""Two small knowledge bases on disk for server and page tests: `zoo` (the default) and `shop`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parley.retrieval.bases import KnowledgeBases
from parley.retrieval.build import open_or_build
from parley.retrieval.settings import RetrievalSettings
from tests.retrieval.conftest import ANIMALS, MACHINES, write_jsonl

KB_SETTINGS = RetrievalSettings(chunk_tokens=64, chunk_overlap=8, top_k=2, index_name="zoo")


def make_bases(data_dir: Path, embedder: Any) -> KnowledgeBases:
    """`zoo` (animals, the default) and `shop` (machines) in `data_dir`."""
    bases = KnowledgeBases(KB_SETTINGS, data_dir, embedder)
    sources = data_dir.parent / "sources"
    sources.mkdir(exist_ok=True)
    for name, rows in (("zoo", ANIMALS), ("shop", MACHINES)):
        if bases.exists(name):
            continue
        path = write_jsonl(sources / f"{name}.jsonl", [{"title": t, "text": x} for t, x in rows])
        built = open_or_build(
            bases.folder(name), KB_SETTINGS, embedder, sources=[str(path)], progress=False
        )
        built.index.close()
    return bases
