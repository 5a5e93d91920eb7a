"""Focused context: the sentences of the retrieved passages that answer the question, first.

A 135M-parameter model given three whole passages answers from the wrong sentence (or from
none); given the few sentences most similar to the question, most similar first, it copies
the name, number or date the user asked for. Similarity is the embedder's cosine between the
question and each sentence, read with the passage's title so that "It was founded in 1975"
still knows what "it" is.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from parley.retrieval.documents import Passage

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(\[]?[A-Z0-9])|\n\s*\n")
_MIN_SENTENCE_CHARS = 12


class SentenceEmbedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_one(self, text: str) -> np.ndarray: ...


class SentenceVectors:
    """An embedder whose `embed` remembers the vectors of the last `capacity` texts.

    The same passages come back for many questions (a knowledge base has popular documents),
    and embedding their ~25 sentences was most of a grounded request's retrieval time (95-340
    ms on one busy core, against 15 ms for the search). Least recently used texts are dropped
    first; a 384-dimension vector is 1.5 KiB, so the default 20,000 hold about 30 MiB.
    """

    def __init__(self, embedder: SentenceEmbedder, capacity: int) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return self.embedder.embed(texts)
        with self._lock:
            found = {text: self._touch(text) for text in texts}
            missing = [text for text, vector in found.items() if vector is None]
            self.misses += len(missing)
            self.hits += len(found) - len(missing)
        vectors = {text: vector for text, vector in found.items() if vector is not None}
        if missing:
            # Embedded outside the lock: two requests may embed the same new sentence at
            # once, which costs time but not correctness.
            vectors.update(zip(missing, self.embedder.embed(missing), strict=True))
            with self._lock:
                for text in missing:
                    self._vectors[text] = vectors[text]
                while len(self._vectors) > self.capacity:
                    self._vectors.popitem(last=False)
        return np.stack([vectors[text] for text in texts])

    def embed_one(self, text: str) -> np.ndarray:
        # Questions rarely repeat word for word: not worth a place in the cache.
        return self.embedder.embed_one(text)

    def _touch(self, text: str) -> np.ndarray | None:
        vector = self._vectors.get(text)
        if vector is not None:
            self._vectors.move_to_end(text)
        return vector


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, whitespace collapsed; blank lines end a sentence too (lists,
    manual pages). Fragments too short to say anything join the sentence before them."""
    sentences: list[str] = []
    for part in _SENTENCE_END.split(text):
        part = " ".join(part.split())
        if not part:
            continue
        if sentences and len(part) < _MIN_SENTENCE_CHARS:
            sentences[-1] = f"{sentences[-1]} {part}"
        else:
            sentences.append(part)
    return sentences


def focus_passages(
    passages: Sequence[Passage],
    query: str,
    embedder: SentenceEmbedder,
    sentences: int,
) -> list[Passage]:
    """Passages cut to the `sentences` sentences (over all of them) most similar to `query`.

    Each kept passage holds its chosen sentences, most similar first; passages are ordered by
    their best sentence, and those with none chosen are left out (they are not cited).
    """
    if sentences <= 0 or not passages:
        return list(passages)
    pieces: list[tuple[int, str]] = [
        (index, sentence)
        for index, passage in enumerate(passages)
        for sentence in split_sentences(passage.text)
    ]
    if not pieces:
        return list(passages)
    vectors = embedder.embed([f"{passages[i].title}: {s}" for i, s in pieces])
    similarity = vectors @ embedder.embed_one(query)
    chosen = sorted(range(len(pieces)), key=lambda j: -float(similarity[j]))[:sentences]
    by_passage: dict[int, list[str]] = {}
    for j in chosen:  # best first, so each passage's list is best first, and so is the dict
        by_passage.setdefault(pieces[j][0], []).append(pieces[j][1])
    return [replace(passages[index], text=" ".join(kept)) for index, kept in by_passage.items()]
