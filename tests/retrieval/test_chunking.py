from __future__ import annotations

import itertools

from parley.retrieval.chunking import Chunker, split_sentences
from parley.retrieval.documents import Document
from parley.retrieval.embedder import Embedder


def test_sentences_respect_abbreviations_and_initials() -> None:
    text = "Dr. Smith met J. R. R. Tolkien in the U.S. in 1950. They talked! Then e.g. tea.\n\nNew"
    sentences = [text[s.start : s.end] for s in split_sentences(text)]
    assert sentences == [
        "Dr. Smith met J. R. R. Tolkien in the U.S. in 1950.",
        "They talked!",
        "Then e.g. tea.",
        "New",
    ]


def _long_doc() -> Document:
    sentences = [
        f"Sentence number {i} talks about topic {i % 7} with some extra words to make it longer."
        for i in range(60)
    ]
    return Document(text=" ".join(sentences), title="Long document", uri="mem://long")


def test_chunks_are_bounded_overlapping_and_positioned(embedder: Embedder) -> None:
    chunker = Chunker(embedder.count_tokens, max_tokens=80, overlap_tokens=24)
    chunks = chunker.chunk(_long_doc())
    assert len(chunks) > 5
    assert [c.position for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert embedder.count_tokens(chunk.embedding_text()) <= 80
        assert chunk.text.endswith(".")  # whole sentences
    for before, after in itertools.pairwise(chunks):
        last_sentence = before.text.rsplit(". ", 1)[-1]
        assert after.text.startswith(last_sentence)  # overlap carries the last sentence
    assert "Sentence number 59" in chunks[-1].text


def test_no_overlap_when_zero(embedder: Embedder) -> None:
    chunks = Chunker(embedder.count_tokens, 80, 0).chunk(_long_doc())
    joined = " ".join(c.text for c in chunks)
    assert joined == _long_doc().text


def test_short_document_is_one_chunk(embedder: Embedder) -> None:
    doc = Document(text="Short text.", title="T", uri="mem://t")
    [chunk] = Chunker(embedder.count_tokens, 64, 8).chunk(doc)
    assert chunk.text == "Short text." and chunk.position == 0


def test_overlong_sentence_is_cut_at_words(embedder: Embedder) -> None:
    doc = Document(text=" ".join(["word"] * 500) + ".", title="", uri="mem://w")
    chunks = Chunker(embedder.count_tokens, 50, 10).chunk(doc)
    assert len(chunks) >= 10
    assert all(embedder.count_tokens(c.embedding_text()) <= 50 for c in chunks)
    url = "https://example.com/" + "x" * 3000
    chunks = Chunker(embedder.count_tokens, 50, 10).chunk(Document(url, "", "mem://u"))
    assert all(embedder.count_tokens(c.text) <= 50 for c in chunks)
    assert "".join(c.text for c in chunks) == url
