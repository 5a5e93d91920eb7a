from __future__ import annotations

from parley.retrieval.documents import Passage
from parley.retrieval.focus import focus_passages, split_sentences


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
