"""The full default knowledge base: built once per session in a temporary data dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from parley.retrieval.embedder import Embedder
from parley.retrieval.evaluation import dev_set_path, evaluate, followups_set_path, load_qa
from parley.retrieval.retriever import (
    IndexRetriever,
    Retriever,
    build_context,
    build_retriever,
    search_in_conversation,
)
from parley.retrieval.settings import RetrievalSettings


@pytest.fixture(scope="session")
def default_retriever(default_kb_data_dir: Path, embedder: Embedder) -> Iterator[Retriever]:
    retriever = build_retriever(
        RetrievalSettings(), default_kb_data_dir, progress=False, embedder=embedder
    )
    assert retriever is not None
    yield retriever


def test_mona_lisa(default_retriever: Retriever, embedder: Embedder) -> None:
    passages = default_retriever.search("Who painted the Mona Lisa?", 5)
    assert "Mona Lisa" in [p.title for p in passages]
    mona = next(p for p in passages if p.title == "Mona Lisa")
    assert mona.uri == "https://en.wikipedia.org/wiki/Mona_Lisa" and "Leonardo" in mona.text
    context, used = build_context(passages, embedder.count_tokens, 512)
    assert context.startswith("[1] ") and embedder.count_tokens(context) <= 512 and used


def test_default_index_manifest(default_retriever: Retriever) -> None:
    assert isinstance(default_retriever, IndexRetriever)
    manifest = default_retriever.index.manifest
    assert manifest.sources == ["wikipedia-vital-summaries"]
    assert manifest.documents > 9000 and manifest.chunks >= manifest.documents
    assert manifest.index.type == "flat" and manifest.hybrid


def test_dev_set_recall(default_retriever: Retriever) -> None:
    items = load_qa(dev_set_path())
    assert len(items) >= 60
    report = evaluate(default_retriever, items)
    # The target is 0.9; a little slack keeps the test about regressions, not noise.
    assert report.metrics["recall@5"] >= 0.85, report.misses


def test_follow_up_questions_find_their_topic(default_retriever: Retriever) -> None:
    items = load_qa(followups_set_path())
    assert all(item.previous for item in items)
    with_history = evaluate(default_retriever, items)
    alone = evaluate(default_retriever, items, history=False)
    # Measured: recall@5 0.917 with the previous message, 0.25 without.
    assert with_history.metrics["recall@5"] >= 0.85, with_history.misses
    assert alone.metrics["recall@5"] < 0.5


def test_a_change_of_subject_is_not_pulled_back(default_retriever: Retriever) -> None:
    passages = search_in_conversation(
        default_retriever, "What is the capital of japan?", "Who painted the Mona Lisa?", 3
    )
    assert passages[0].title in {"Japan", "Tokyo"}
    follow_up = search_in_conversation(
        default_retriever, "Where is it displayed today?", "Who painted the Mona Lisa?", 3
    )
    assert "Mona Lisa" in [p.title for p in follow_up]


def test_filters_on_the_default_kb(default_retriever: Retriever) -> None:
    passages = default_retriever.search("famous painting", 5, {"topic": "People"})
    assert len(passages) == 5 and all(p.metadata["topic"] == "People" for p in passages)


def test_disabled_retrieval_gives_none(tmp_path: Path) -> None:
    assert build_retriever(RetrievalSettings(enabled=False), tmp_path) is None
