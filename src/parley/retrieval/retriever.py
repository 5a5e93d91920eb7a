"""Retrievers (query -> ranked passages), fusion, and the numbered context block.

`build_retriever(settings, data_dir)` is the one place the chat and the server get their
retriever from; it opens the default index, building it on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from rich.console import Console

from parley.protocols import TextEmbedder
from parley.registry import EmbedderCache, Registry, Shared
from parley.retrieval.documents import Passage
from parley.retrieval.errors import RetrievalUnavailable
from parley.retrieval.index import KnowledgeIndex
from parley.retrieval.settings import RetrievalSettings
from parley.retrieval.table import Filters, Row

log = logging.getLogger(__name__)


class Retriever(Protocol):
    """Anything that turns a query into ranked passages."""

    name: str

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]: ...


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int = 60, weights: Sequence[float] | None = None
) -> list[tuple[int, float]]:
    """Fuses ranked id lists: score(id) = sum over lists of weight / (k + rank), rank from 1.

    Rank fusion needs no score calibration between BM25 and cosine, which is why it is used.
    Ties keep the order of first appearance.
    """
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, id_ in enumerate(ranking, start=1):
            scores[id_] = scores.get(id_, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


class IndexRetriever:
    """Vector search over a knowledge index, optionally fused with BM25."""

    name = "index"

    def __init__(
        self,
        index: KnowledgeIndex,
        embedder: TextEmbedder,
        *,
        hybrid: bool = True,
        rrf_k: int = 60,
        bm25_weight: float = 1.0,
        candidates: int = 50,
        expand_neighbors: int = 0,
        expand_min_similarity: float = 0.3,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.hybrid = hybrid and index.keywords is not None
        self.rrf_k = rrf_k
        self.bm25_weight = bm25_weight
        self.candidates = candidates
        self.expand_neighbors = expand_neighbors
        self.expand_min_similarity = expand_min_similarity

    @classmethod
    def from_settings(cls, settings: RetrievalSettings, *, shared: Shared) -> IndexRetriever:
        """Search the configured index (`<data_dir>/indexes/<index_name>` or `index_dir`),
        building it from `settings.sources` on first use; concurrent processes build once."""
        from parley.retrieval.build import open_or_build

        if settings.search_threads is not None:
            import faiss

            # Multi-threaded Faiss spins on busy cores: 0.5 ms searches become 20 ms.
            faiss.omp_set_num_threads(settings.search_threads)
        embedder = shared.embedders.get(settings.embedder)
        result = open_or_build(
            settings.index_path(shared.folder("")),
            settings,
            embedder,
            progress=shared.progress,
            console=Console(stderr=True),
        )
        return cls.from_index(result.index, embedder, settings)

    @classmethod
    def from_index(
        cls, index: KnowledgeIndex, embedder: TextEmbedder, settings: RetrievalSettings
    ) -> IndexRetriever:
        return cls(
            index,
            embedder,
            hybrid=settings.hybrid,
            rrf_k=settings.rrf_k,
            bm25_weight=settings.bm25_weight,
            candidates=settings.candidates,
            expand_neighbors=settings.expand_neighbors,
            expand_min_similarity=settings.expand_min_similarity,
        )

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        """The `k` best passages; filters restrict the candidates inside both searches."""
        if not query.strip() or k <= 0:
            return []
        allowed = self.index.allowed_ids(filters)
        qvec = self.embedder.embed_one(query)
        if self.hybrid:
            depth = max(k, self.candidates)
            dense = self.index.vector_search(qvec, depth, allowed)
            sparse = self.index.keyword_search(query, depth, allowed)
            cosine = dict(dense)
            ranked = reciprocal_rank_fusion(
                [[i for i, _ in dense], [i for i, _ in sparse]],
                self.rrf_k,
                [1.0, self.bm25_weight],
            )[:k]
        else:
            ranked = self.index.vector_search(qvec, k, allowed)
            cosine = dict(ranked)
        rows = self.index.table.rows([i for i, _ in ranked])
        passages = []
        for id_, score in ranked:
            row = rows.get(id_)
            if row is None:  # deleted after the index was loaded by this process
                continue
            text = self._widen(row, qvec) if self.expand_neighbors else row.text
            metadata = {**row.metadata, "source": row.source}
            if id_ in cosine:
                metadata["cosine"] = round(cosine[id_], 4)
            passages.append(
                Passage(
                    text=text,
                    title=row.title,
                    uri=row.uri,
                    rank_score=score,
                    similarity=cosine.get(id_),
                    metadata=metadata,
                    chunk_id=id_,
                    doc_id=row.doc_id,
                )
            )
        return passages

    def _widen(self, row: Row, qvec: np.ndarray) -> str:
        """The hit plus neighbouring chunks, outwards, while they stay similar to the query."""
        around = {
            r.position: r
            for r in self.index.table.neighbours(row.doc_id, row.position, self.expand_neighbors)
        }
        kept = [row.position]
        for step in (-1, 1):
            position = row.position + step
            while position in around and abs(position - row.position) <= self.expand_neighbors:
                vector = around[position].vector
                if vector is None or float(vector @ qvec) < self.expand_min_similarity:
                    break
                kept.append(position)
                position += step
        texts = [around[p].text if p != row.position else row.text for p in sorted(kept)]
        return _join_overlapping(texts)


def _join_overlapping(texts: list[str]) -> str:
    """Joins consecutive chunks, dropping the overlap each one repeats from the previous."""
    out = texts[0]
    for text in texts[1:]:
        overlap = next(
            (n for n in range(min(len(out), len(text)), 0, -1) if out.endswith(text[:n])), 0
        )
        out = out + (" " if not overlap else "") + text[overlap:]
    return out


class FusedRetriever:
    """Several retrievers fused by rank; one that fails is skipped (and logged)."""

    name = "fused"

    def __init__(self, retrievers: Sequence[Retriever], rrf_k: int = 60) -> None:
        self.retrievers = list(retrievers)
        self.rrf_k = rrf_k
        self.last_errors: list[str] = []

    @classmethod
    def from_settings(cls, settings: RetrievalSettings, *, shared: Shared) -> FusedRetriever:
        """`retriever = "both"`: the index and the web search, fused by rank."""
        parts = [RETRIEVERS.build(name, settings, shared) for name in ("index", "web")]
        return cls(parts, settings.rrf_k)

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        self.last_errors = []
        lists: list[list[Passage]] = []
        for retriever in self.retrievers:
            try:
                lists.append(retriever.search(query, k, filters))
            except RetrievalUnavailable as exc:
                log.warning("%s retriever unavailable: %s", retriever.name, exc)
                self.last_errors.append(str(exc))
        fused = fuse_passages(lists, k, self.rrf_k)
        for passage, score in fused:
            passage.rank_score = score
        return [passage for passage, _ in fused]


def fuse_passages(
    lists: Sequence[Sequence[Passage]],
    k: int,
    rrf_k: int = 60,
    weights: Sequence[float] | None = None,
) -> list[tuple[Passage, float]]:
    """The top `k` of several passage rankings fused by reciprocal rank, with their fused
    scores. A passage is the same in two lists when its chunk of the index is, or, for web
    results, its uri (or text); within one list only its best rank counts."""
    by_key: dict[int, Passage] = {}
    keys: dict[str, int] = {}
    rankings: list[list[int]] = []
    for passages in lists:
        ranking: list[int] = []
        seen: set[int] = set()
        for passage in passages:
            identity = (
                f"chunk:{passage.chunk_id}"
                if passage.chunk_id is not None
                else passage.uri or passage.text
            )
            key = keys.setdefault(identity, len(keys))
            by_key.setdefault(key, passage)
            if key not in seen:
                seen.add(key)
                ranking.append(key)
        rankings.append(ranking)
    fused = reciprocal_rank_fusion(rankings, rrf_k, weights)
    return [(by_key[key], score) for key, score in fused[:k]]


PAIR_WEIGHT = 1.5
"""Weight of the (previous message + message) ranking against the message alone. On the
shipped follow-up set with the chat's top 3 (rrf_k 10): without the pair 1 of 28 follow-ups
finds its article; with it, at weight 1.0, 17; at 1.5, 22; at 2.0, 23. A change of subject
keeps its article in the top 3 in 8 of 8 cases alone and at 1.0, 7 of 8 at 1.5 and 2.0."""


FUSION_DEPTH = 10
"""How deep each ranking of `search_in_conversation` is read before fusing."""


def search_in_conversation(
    retriever: Retriever, message: str, previous: str | None, k: int, rrf_k: int = 10
) -> list[Passage]:
    """Passages for `message`, read in its conversation.

    A follow-up ("How tall is it?") names its topic only in an earlier message, so the
    message is searched alone and together with the user's previous message, and the two
    rankings are fused: the pair finds the topic of a follow-up, the message alone keeps a
    change of subject working. Passages keep the score of their own search (the domain
    guard compares it with a similarity threshold).
    """
    if not previous or not previous.strip():
        return retriever.search(message, k)
    # Both rankings go deeper than k: with k=3, the pair's top 3 is often all about the
    # earlier topic and would outvote the message's own top hit.
    depth = max(k, FUSION_DEPTH)
    alone = retriever.search(message, depth)
    together = retriever.search(f"{previous.strip()} {message}", depth)
    fused = fuse_passages([alone, together], k, rrf_k, weights=(1.0, PAIR_WEIGHT))
    return [passage for passage, _ in fused]


def build_context(
    passages: Sequence[Passage], count_tokens: Callable[[str], int], budget_tokens: int
) -> tuple[str, list[Passage]]:
    """A numbered context block `[1] Title\\ntext` within `budget_tokens`, and the passages used.

    Passages are taken in rank order; the last one that does not fit whole is cut at a word
    boundary when a useful part of it fits. Numbers match the order of the returned passages,
    so `[n]` in a reply cites `used[n-1]`.
    """
    blocks: list[str] = []
    used: list[Passage] = []
    remaining = budget_tokens
    for passage in passages:
        header = f"[{len(used) + 1}] {passage.title}".rstrip()
        block = f"{header}\n{passage.text.strip()}"
        cost = count_tokens(block) + (2 if blocks else 0)
        if cost <= remaining:
            blocks.append(block)
            used.append(passage)
            remaining -= cost
            continue
        room = remaining - count_tokens(header) - 4
        if room >= 24 or not blocks:
            cut = _cut_to_tokens(passage.text.strip(), count_tokens, max(room, 0))
            if cut:
                blocks.append(f"{header}\n{cut}")
                used.append(passage)
        break
    return "\n\n".join(blocks), used


def _cut_to_tokens(text: str, count_tokens: Callable[[str], int], budget: int) -> str:
    """The longest word prefix of `text` within `budget` tokens (plus an ellipsis)."""
    words = text.split()
    low, high = 0, len(words)
    while low < high:  # binary search on the number of words
        mid = (low + high + 1) // 2
        if count_tokens(" ".join(words[:mid]) + " …") <= budget:
            low = mid
        else:
            high = mid - 1
    return " ".join(words[:low]) + " …" if low else ""


RETRIEVERS: Registry[RetrievalSettings, Retriever] = Registry(
    "retriever",
    {
        "index": "parley.retrieval.retriever:IndexRetriever",
        "web": "parley.retrieval.websearch:WebSearchRetriever",
        "both": "parley.retrieval.retriever:FusedRetriever",
    },
)
"""The `retrieval.retriever` setting -> the class that searches."""


def build_retriever(
    settings: RetrievalSettings,
    data_dir: Path,
    progress: bool = True,
    *,
    embedder: TextEmbedder | None = None,
    shared: Shared | None = None,
) -> Retriever | None:
    """The retriever the settings ask for, or None when retrieval is off.

    The index retriever opens `<data_dir>/indexes/<index_name>` (or `index_dir`), building it
    from `settings.sources` on first use with a progress bar; concurrent processes build once.
    """
    if not settings.enabled:
        return None
    if shared is None:
        cache = EmbedderCache(batch_size=settings.embed_batch_size)
        shared = Shared(data_dir=Path(data_dir), progress=progress, embedders=cache)
    if embedder is not None:
        shared.embedders.put(embedder)
    return RETRIEVERS.build(settings.retriever, settings, shared)
