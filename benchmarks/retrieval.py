"""Retrieval benchmark, printed as one JSON object.

- embedding docs/s of Parley's Embedder vs sentence-transformers on the same texts, same run
  (and the cosine agreement of their vectors);
- ingestion throughput (chunks/s and docs/s) of `build_index` on one thread and on every
  core, the same documents in the same run;
- build time of the default knowledge base (Wikipedia summaries), as `parley index build`
  and the set-up run it (every core);
- query latency p50/p99 (embedding + search) on the default knowledge base;
- flat vs IVF vs HNSW on N synthetic 384-d vectors: build time, latency, recall@10 vs flat.

    .venv/bin/python benchmarks/retrieval.py                       # N = 200,000 (minutes)
    .venv/bin/python benchmarks/retrieval.py --synthetic 1000000   # the 1M run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import torch

from _stats import latency_summary


def bench_embedding(texts: list[str], threads: int) -> dict[str, object]:
    from sentence_transformers import SentenceTransformer

    from parley.embedded import embedded_path
    from parley.retrieval.embedder import Embedder

    torch.set_num_threads(threads)
    ours = Embedder()
    theirs = SentenceTransformer(str(embedded_path("all-minilm-l6-v2")), device="cpu")
    ours.embed(texts[:64])
    theirs.encode(texts[:64], batch_size=32)
    out: dict[str, object] = {"texts": len(texts), "threads": threads}
    # Alternate runs so a burst of load from other processes hits both alike.
    ours_s, theirs_s = [], []
    for _ in range(2):
        started = time.perf_counter()
        a = ours.embed(texts)
        ours_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        b = theirs.encode(texts, batch_size=32, normalize_embeddings=True)
        theirs_s.append(time.perf_counter() - started)
    cosine = (a * b).sum(axis=1)
    out["parley_docs_per_s"] = round(len(texts) / min(ours_s), 1)
    out["parley_precision"] = ours.precision
    out["sentence_transformers_docs_per_s"] = round(len(texts) / min(theirs_s), 1)
    out["speedup"] = round(min(theirs_s) / min(ours_s), 2)
    out["cosine_min"] = round(float(cosine.min()), 6)
    out["cosine_mean"] = round(float(cosine.mean()), 6)
    fp32 = Embedder(precision="float32")
    c = fp32.embed(texts)
    out["float32_cosine_min"] = round(float((c * b).sum(axis=1).min()), 6)
    return out


def bench_default_kb(data_dir: Path, threads: int, queries: int) -> dict[str, object]:
    from parley.retrieval.build import open_or_build
    from parley.retrieval.embedder import Embedder
    from parley.retrieval.evaluation import dev_set_path, evaluate, followups_set_path, load_qa
    from parley.retrieval.retriever import IndexRetriever, search_in_conversation
    from parley.retrieval.settings import RetrievalSettings

    settings = RetrievalSettings(ingest_threads=threads)
    embedder = Embedder()
    folder = settings.index_path(data_dir)
    started = time.perf_counter()
    result = open_or_build(folder, settings, embedder, force=True, progress=False)
    build_s = time.perf_counter() - started
    m = result.index.manifest
    out: dict[str, object] = {
        "build_threads": threads,
        "build_seconds": round(build_s, 1),
        "documents": m.documents,
        "chunks": m.chunks,
        "build_docs_per_s": round(m.documents / build_s, 1),
    }
    faiss.omp_set_num_threads(settings.search_threads or 1)
    torch.set_num_threads(os.cpu_count() or 1)  # queries pick their own thread count
    items = load_qa(dev_set_path())
    questions = [item.question for item in items]
    for hybrid in (True, False):
        retriever = IndexRetriever.from_index(
            result.index, embedder, settings.model_copy(update={"hybrid": hybrid})
        )
        for q in questions[:5]:
            retriever.search(q, settings.top_k)
        latencies = []
        for i in range(queries):
            started = time.perf_counter()
            retriever.search(questions[i % len(questions)], settings.top_k)
            latencies.append((time.perf_counter() - started) * 1000)
        name = "hybrid" if hybrid else "vector"
        out[f"query_ms_{name}"] = latency_summary(latencies)
        out[f"dev_set_{name}"] = evaluate(retriever, items).metrics
    # What the chat does for a message with an earlier one: two searches, fused.
    retriever = IndexRetriever.from_index(result.index, embedder, settings)
    followups = load_qa(followups_set_path())
    latencies = []
    for i in range(queries):
        item = followups[i % len(followups)]
        started = time.perf_counter()
        search_in_conversation(
            retriever, item.question, item.previous, settings.top_k, settings.rrf_k
        )
        latencies.append((time.perf_counter() - started) * 1000)
    out["query_ms_in_conversation"] = latency_summary(latencies)
    for history in (True, False):
        report = evaluate(retriever, followups, history=history, rrf_k=settings.rrf_k)
        out[f"followups_{'with' if history else 'without'}_history"] = report.metrics
    return out


def bench_ingestion(n_docs: int, repeats: int) -> dict[str, object]:
    """chunks/s of a real build (read, chunk, embed, index, save) on 1 thread vs all cores."""
    from parley.retrieval.build import build_index, ingest_threads
    from parley.retrieval.embedder import Embedder
    from parley.retrieval.settings import RetrievalSettings

    docs = list(load_source_cached())[:n_docs]
    embedder = Embedder()
    cores = ingest_threads(RetrievalSettings())
    out: dict[str, object] = {"documents": len(docs), "cores": cores}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "docs.jsonl"
        source.write_text(
            "".join(json.dumps({"title": d.title, "text": d.text}) + "\n" for d in docs)
        )
        runs: dict[int, list[float]] = {1: [], cores: []}
        chunks = 0
        for _ in range(repeats):
            for threads in runs:  # alternate, so load from others hits both alike
                settings = RetrievalSettings(ingest_threads=threads, hybrid=True)
                started = time.perf_counter()
                manifest = build_index(
                    Path(tmp) / f"kb-{threads}", [str(source)], settings, embedder, progress=False
                )
                runs[threads].append(time.perf_counter() - started)
                chunks = manifest.chunks
                print(f"ingestion: {threads} thread(s) {runs[threads][-1]:.1f}s", file=sys.stderr)
        out["chunks"] = chunks
        for threads, seconds in runs.items():
            ordered = sorted(seconds)
            median = ordered[len(ordered) // 2]
            out[f"threads_{threads}"] = {
                "seconds_median": round(median, 2),
                "seconds_spread": [round(ordered[0], 2), round(ordered[-1], 2)],
                "chunks_per_s": round(chunks / median, 1),
                "docs_per_s": round(len(docs) / median, 1),
            }
    return out


def load_source_cached() -> list[Any]:
    from parley.retrieval.sources import load_source

    if not hasattr(load_source_cached, "docs"):
        load_source_cached.docs = list(load_source("wikipedia-vital-summaries"))  # type: ignore[attr-defined]
    return load_source_cached.docs  # type: ignore[attr-defined, no-any-return]


def synthetic_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors: like text embeddings, they have structure for IVF/HNSW to use
    (uniform random vectors have none and make every approximate index look bad)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(max(16, n // 500), dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        picks = rng.integers(0, len(centers), size=size)
        block = centers[picks] + rng.normal(scale=0.6, size=(size, dim)).astype(np.float32)
        out[start : start + size] = block
    faiss.normalize_L2(out)
    return out


def bench_synthetic(n: int, queries: int, dim: int = 384) -> dict[str, object]:
    from parley.retrieval import vectors as vec

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    data = synthetic_vectors(n, dim)
    rng = np.random.default_rng(1)
    q = data[rng.choice(n, size=queries, replace=False)]
    q = q + rng.normal(scale=0.05, size=q.shape).astype(np.float32)
    faiss.normalize_L2(q)
    ids = np.arange(n, dtype=np.int64)
    out: dict[str, object] = {"vectors": n, "dim": dim, "queries": queries}
    truth = None
    for kind in ("flat", "ivf", "hnsw"):
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # builds use every core
        started = time.perf_counter()
        train = data[rng.choice(n, size=min(n, 100_000), replace=False)] if kind == "ivf" else data
        index = vec.make_index(kind, train, hnsw_m=32, ef_construction=80)  # type: ignore[arg-type]
        index.add_with_ids(data, ids)
        build_s = time.perf_counter() - started
        faiss.omp_set_num_threads(1)  # one query at a time, as the chat does
        found = np.empty((queries, 10), dtype=np.int64)
        latencies = []
        for i in range(queries):
            started = time.perf_counter()
            _, hit = vec.search(index, q[i : i + 1], 10, nprobe=16, ef_search=64)
            latencies.append((time.perf_counter() - started) * 1000)
            found[i] = hit[0]
        if truth is None:
            truth = found.copy()
        recall = float(np.mean([len(set(found[i]) & set(truth[i])) / 10 for i in range(queries)]))
        out[kind] = {
            "build_seconds": round(build_s, 1),
            **latency_summary(latencies, key="query_ms_{stat}"),
            "recall_at_10_vs_flat": round(recall, 4),
            **({"nlist": int(index.nlist), "nprobe": 16} if kind == "ivf" else {}),
            **({"M": 32, "efSearch": 64} if kind == "hnsw" else {}),
        }
        del index
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=200_000, help="vectors; 0 skips")
    parser.add_argument("--synthetic-queries", type=int, default=200)
    parser.add_argument("--embed-docs", type=int, default=512, help="texts for docs/s")
    parser.add_argument("--queries", type=int, default=200, help="timed KB queries")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    parser.add_argument("--skip-build", action="store_true", help="skip the default KB part")
    parser.add_argument("--ingest-docs", type=int, default=1000, help="docs per ingestion run")
    parser.add_argument("--ingest-repeats", type=int, default=3, help="ingestion runs each")
    parser.add_argument("--only", choices=["ingestion", "default_kb"], help="run one part only")
    args = parser.parse_args()

    docs = load_source_cached()
    step = max(1, len(docs) // args.embed_docs)
    texts = [f"{d.title}\n{d.text}" for d in docs[::step][: args.embed_docs]]
    result: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "faiss": faiss.__version__,
        },
    }
    if args.only is None:
        result["embedding"] = bench_embedding(texts, args.threads)
        print(json.dumps(result["embedding"]), file=sys.stderr)
    if args.only in (None, "ingestion") and args.ingest_docs:
        result["ingestion"] = bench_ingestion(args.ingest_docs, args.ingest_repeats)
        print(json.dumps(result["ingestion"]), file=sys.stderr)
    if args.only == "ingestion":
        args.skip_build, args.synthetic = True, 0
    if args.only == "default_kb":
        args.synthetic = 0
    if not args.skip_build:
        with tempfile.TemporaryDirectory() as tmp:
            result["default_kb"] = bench_default_kb(Path(tmp), args.threads, args.queries)
        print(json.dumps(result["default_kb"]), file=sys.stderr)
    if args.synthetic:
        result["synthetic"] = bench_synthetic(args.synthetic, args.synthetic_queries)
    result["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)  # type: ignore[index]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
