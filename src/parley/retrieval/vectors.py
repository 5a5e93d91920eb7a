"""Faiss indexes: making, searching with id selectors, removing, loading, recall vs flat.

Every index maps to the text table's ids (IndexIDMap for flat/HNSW, native ids for IVF), so
adding or deleting documents never renumbers anything.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

IndexKind = Literal["flat", "ivf", "hnsw"]
INDEX_KINDS: tuple[IndexKind, ...] = ("flat", "ivf", "hnsw")


def default_nlist(n: int) -> int:
    """IVF lists: ~4·sqrt(n), at least 1, and few enough that each list gets ~39 training points."""
    return max(1, min(int(4 * math.sqrt(max(n, 1))), max(1, n // 39)))


def make_index(
    kind: IndexKind,
    vectors: np.ndarray,
    *,
    nlist: int | None = None,
    hnsw_m: int = 32,
    ef_construction: int = 80,
) -> faiss.Index:
    """An empty index of `kind`, trained on `vectors` when it needs training (IVF)."""
    dim = vectors.shape[1]
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind == "ivf":
        lists = min(nlist or default_nlist(len(vectors)), max(1, len(vectors)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        index.train(np.ascontiguousarray(vectors, dtype=np.float32))
        return index
    if kind == "hnsw":
        graph = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = ef_construction
        return faiss.IndexIDMap(graph)
    raise ValueError(f"unknown index type {kind!r}; choose one of {', '.join(INDEX_KINDS)}")


def kind_of(index: faiss.Index) -> str:
    """flat, ivf, hnsw, or the Faiss class name for other (imported) indexes."""
    inner = faiss.downcast_index(index.index) if hasattr(index, "id_map") else index
    if isinstance(inner, faiss.IndexFlat):
        return "flat"
    if isinstance(inner, faiss.IndexHNSW):
        return "hnsw"
    if faiss.try_extract_index_ivf(inner) is not None:
        return "ivf"
    return type(inner).__name__


def search(
    index: faiss.Index,
    queries: np.ndarray,
    k: int,
    *,
    selector: faiss.IDSelector | None = None,
    nprobe: int = 16,
    ef_search: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of shape (len(queries), k); missing hits have id -1.

    The selector is applied inside the search, so a filter never empties a top-k cut.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    kind = kind_of(index)
    if kind == "hnsw":
        params: faiss.SearchParameters = faiss.SearchParametersHNSW(efSearch=max(ef_search, k))
    elif kind == "ivf":
        params = faiss.SearchParametersIVF(nprobe=nprobe)
    else:
        params = faiss.SearchParameters()
    if selector is not None:
        params.sel = selector
    return index.search(queries, k, params=params)


def id_selector(
    allowed: np.ndarray | None = None, excluded: np.ndarray | None = None
) -> faiss.IDSelector | None:
    """A selector keeping `allowed` ids (all if None) minus `excluded` ones.

    The returned object keeps its parts alive (Faiss holds raw pointers to them).
    """
    parts: list[faiss.IDSelector] = []
    selector: faiss.IDSelector | None = None
    if allowed is not None:
        selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        parts.append(selector)
    if excluded is not None and len(excluded):
        batch = faiss.IDSelectorBatch(np.ascontiguousarray(excluded, dtype=np.int64))
        negated = faiss.IDSelectorNot(batch)
        parts += [batch, negated]
        selector = negated if selector is None else faiss.IDSelectorAnd(selector, negated)
        parts.append(selector)
    if selector is not None:
        selector._parley_parts = parts
    return selector


def remove(index: faiss.Index, ids: np.ndarray) -> bool:
    """Removes vectors by id; False when this kind cannot (HNSW), so callers tombstone them."""
    if kind_of(index) == "hnsw":
        return False
    index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64)))
    return True


def write(index: faiss.Index, path: Path) -> None:
    """Writes atomically, so a reader never maps half a file."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    faiss.write_index(index, str(tmp))
    os.replace(tmp, path)


def read(path: Path, *, mmap: bool) -> faiss.Index:
    """Loads an index; `mmap` maps it read-only so replicas share pages and start instantly."""
    if not mmap:
        return faiss.read_index(str(path))
    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
    except RuntimeError:
        # Older index layouts cannot map in-file codes; the generic mmap flag still can.
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)


def recall_vs_flat(
    index: faiss.Index,
    vectors: np.ndarray,
    ids: np.ndarray,
    *,
    k: int = 10,
    queries: int = 200,
    nprobe: int = 16,
    ef_search: int = 64,
    seed: int = 0,
) -> float:
    """Recall@k of `index` against exact search over `vectors`, with sampled vectors as queries.

    Queries are perturbed copies of indexed vectors, so they are near the data like real
    queries but not trivially found at rank one.
    """
    n = len(vectors)
    if n == 0:
        return 1.0
    rng = np.random.default_rng(seed)
    picks = rng.choice(n, size=min(queries, n), replace=False)
    noise = rng.normal(scale=0.05, size=(len(picks), vectors.shape[1])).astype(np.float32)
    q = vectors[picks] + noise
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    top = min(k, n)
    for start in range(0, n, 1 << 16):  # blockwise so 1M vectors do not need a 1M×q matrix
        scores = q @ vectors[start : start + (1 << 16)].T
        block = np.argpartition(-scores, min(top, scores.shape[1] - 1), axis=1)[:, :top] + start
        if start == 0:
            best, best_scores = block, np.take_along_axis(scores, block - start, axis=1)
        else:
            cand = np.concatenate([best, block], axis=1)
            cand_scores = np.concatenate(
                [best_scores, np.take_along_axis(scores, block - start, axis=1)], axis=1
            )
            order = np.argsort(-cand_scores, axis=1)[:, :top]
            best = np.take_along_axis(cand, order, axis=1)
            best_scores = np.take_along_axis(cand_scores, order, axis=1)
    exact = ids[best]
    _, found = search(index, q, top, nprobe=nprobe, ef_search=ef_search)
    hits = sum(len(set(found[i]) & set(exact[i])) for i in range(len(q)))
    return hits / (len(q) * top)
