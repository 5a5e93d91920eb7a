from __future__ import annotations

import numpy as np

from parley.retrieval.documents import Passage
from parley.retrieval.focus import SentenceVectors, focus_passages, split_sentences


def test_sentences_split_on_ends_and_blank_lines():
    text = "Tokyo is big. It had 14 million people in 2023! Dr. Who? ok\n\n-k --keep\n  Keep files."
    assert split_sentences(text) == [
        "Tokyo is big.",
        "It had 14 million people in 2023! Dr. Who? ok",
        "-k --keep Keep files.",
    ]


def _p(title: str, text: str) -> Passage:
    return Passage(text=text, title=title, uri=f"kb://{title}", rank_score=1.0)


def test_the_answering_sentence_comes_first_and_unused_passages_go(embedder):
    passages = [
        _p("Sahara", "The Sahara is a desert. It spans North Africa. Camels live there."),
        _p("Tokyo", "Tokyo is the capital of Japan. Its population was over 14 million in 2023."),
        _p("Penguin", "Penguins are flightless birds. They swim well."),
    ]
    focused = focus_passages(passages, "How many people live in Tokyo?", embedder, 2)
    assert focused[0].title == "Tokyo"
    assert focused[0].text.startswith("Its population was over 14 million")
    assert sum(len(split_sentences(p.text)) for p in focused) == 2
    assert focused[0].snippet == passages[1].snippet  # citations still show the passage
    assert focus_passages(passages, "anything", embedder, 0) == passages


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.embedded: list[str] = []

    def embed(self, texts):
        self.embedded.extend(texts)
        return self.embedder.embed(texts)

    def embed_one(self, text):
        return self.embedder.embed_one(text)


def test_sentence_vectors_are_embedded_once_and_the_oldest_dropped(embedder):
    counting = CountingEmbedder(embedder)
    cached = SentenceVectors(counting, capacity=3)
    first = cached.embed(["a cat", "a dog", "a cat"])
    assert counting.embedded == ["a cat", "a dog"]  # a repeat in one call is embedded once
    np.testing.assert_allclose(first, embedder.embed(["a cat", "a dog", "a cat"]), atol=1e-5)
    cached.embed(["a dog", "a fish"])
    assert counting.embedded == ["a cat", "a dog", "a fish"]
    assert (cached.hits, cached.misses) == (1, 3)
    cached.embed(["a bird"])  # over capacity: "a cat", the least recently used, goes
    cached.embed(["a cat", "a dog"])
    assert counting.embedded[-1:] == ["a cat"]
    assert cached.embed([]).shape == (0, embedder.dimension)


def test_focus_through_the_cache_chooses_as_without_it(embedder):
    passages = [
        _p("Tokyo", "Tokyo is the capital of Japan. Its population was over 14 million in 2023."),
        _p("Penguin", "Penguins are flightless birds. They swim well."),
    ]
    cached = SentenceVectors(embedder, capacity=100)
    for question in ("How many people live in Tokyo?", "Can penguins fly?"):
        assert focus_passages(passages, question, cached, 1) == focus_passages(
            passages, question, embedder, 1
        )
    assert cached.hits == 4  # the second question's four sentences came from the cache
