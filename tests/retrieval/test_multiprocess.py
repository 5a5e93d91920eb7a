from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

from parley.retrieval.settings import RetrievalSettings

from .conftest import write_jsonl


def _open_or_build(folder: str, source: str, barrier: object, results: object) -> None:
    """Runs in a fresh process: load the embedder, wait for the other process, then race."""
    from parley.retrieval.build import open_or_build
    from parley.retrieval.embedder import Embedder

    embedder = Embedder()
    settings = RetrievalSettings(chunk_tokens=64, chunk_overlap=8)
    barrier.wait()  # type: ignore[attr-defined]
    started = time.time()
    result = open_or_build(Path(folder), settings, embedder, sources=[source], progress=False)
    results.put(  # type: ignore[attr-defined]
        (
            result.built,
            result.index.manifest.build.build_id,
            result.index.faiss.ntotal,
            started,
            time.time(),
        )
    )


def test_two_processes_build_once(tmp_path: Path) -> None:
    rows = [
        {"title": f"Doc {i}", "text": f"Document {i} is about subject {i}."} for i in range(300)
    ]
    source = write_jsonl(tmp_path / "docs.jsonl", rows)
    folder = tmp_path / "indexes" / "shared"
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_open_or_build, args=(str(folder), str(source), barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=240) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    built = [o for o in outcomes if o[0]]
    waited = [o for o in outcomes if not o[0]]
    assert len(built) == 1 and len(waited) == 1  # exactly one process built
    assert built[0][1] == waited[0][1]  # both use that one build
    assert built[0][2] == waited[0][2] == 300
    assert waited[0][4] >= built[0][4] - 0.5  # the waiter finished only after the build
    assert not list(folder.parent.glob(".shared.building-*"))  # no staging folders left
