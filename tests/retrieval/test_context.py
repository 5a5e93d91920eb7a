from __future__ import annotations

from parley.retrieval.documents import Passage, make_snippet
from parley.retrieval.embedder import Embedder
from parley.retrieval.retriever import build_context


def _p(title: str, words: int) -> Passage:
    return Passage(
        text=" ".join(["alpha"] * words) + ".", title=title, uri=f"kb://{title}", rank_score=1
    )


def test_numbered_block_within_budget(embedder: Embedder) -> None:
    passages = [_p("One", 20), _p("Two", 20), _p("Three", 200)]
    text, used = build_context(passages, embedder.count_tokens, 120)
    assert text.startswith("[1] One\nalpha") and "\n\n[2] Two\n" in text
    assert embedder.count_tokens(text) <= 120
    assert [p.title for p in used] == ["One", "Two", "Three"]  # the third is cut to fit
    assert text.endswith("…")


def test_budget_smaller_than_first_passage_still_gives_a_piece(embedder: Embedder) -> None:
    text, used = build_context([_p("Big", 300), _p("Next", 5)], embedder.count_tokens, 40)
    assert len(used) == 1 and text.startswith("[1] Big\n")
    assert embedder.count_tokens(text) <= 40


def test_everything_fits(embedder: Embedder) -> None:
    text, used = build_context([_p("A", 3), _p("B", 3)], embedder.count_tokens, 500)
    assert text == "[1] A\nalpha alpha alpha.\n\n[2] B\nalpha alpha alpha."
    assert len(used) == 2
    assert build_context([], embedder.count_tokens, 100) == ("", [])


def test_snippet_cuts_at_words() -> None:
    assert make_snippet("short  text\n here") == "short text here"
    snippet = make_snippet("word " * 100, limit=50)
    assert snippet.endswith("…") and len(snippet) <= 51 and "wor…" not in snippet
