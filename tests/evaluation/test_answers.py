from __future__ import annotations

import json
from pathlib import Path

import pytest

from parley.engines.formats import ChatTemplateFormat
from parley.engines.params import GenerationParams
from parley.evaluation.answers import (
    SHIPPED_SETS,
    AnswerItem,
    AnswerSetError,
    contains_answer,
    evaluate_answers,
    invented_marks,
    load_answer_set,
    looped,
    normalise,
    shipped_docs_path,
    shipped_path,
    token_f1,
)
from parley.service import ChatService


def test_normalising_ignores_case_accents_articles_and_digit_groups():
    assert normalise("The Asunción, 9,200,000 km² — 5.6 million!") == [
        "asuncion",
        "9200000",
        "km2",
        "5.6",
        "million",
    ]


def test_a_gold_answer_counts_only_as_whole_words():
    assert contains_answer("Its symbol is Au.", ["Au"])
    assert not contains_answer("It is authentic.", ["Au"])
    assert contains_answer("The area is 9200000 km2", ["9,200,000"])
    assert contains_answer("It was Jean-Luc Godard.", ["Jean-Luc Godard"])
    assert not contains_answer("Godard Jean-Luc", ["Jean-Luc Godard"])


def test_token_f1():
    assert token_f1("Leo Tolstoy", ["Leo Tolstoy"]) == 1.0
    assert token_f1("It was written by Leo Tolstoy", ["Leo Tolstoy"]) == pytest.approx(0.5)
    assert token_f1("Nobody", ["Leo Tolstoy"]) == 0.0


def test_loops_and_invented_marks_are_found():
    assert looped("The -f option is used to force. The -f option is used to force.")
    assert looped("use it with care, use it with care and use it with care")
    assert not looped("use it with care, use it with care")
    assert not looped("Paris is the capital of France. It lies on the Seine.")
    assert invented_marks("Paris [1] is big [4] and old [2, 7].", 2) == 2
    assert invented_marks("Paris [1].", 1) == 0


def test_bad_files_name_the_line(tmp_path: Path):
    path = tmp_path / "qa.jsonl"
    path.write_text('{"question": "Q?", "answers": ["Rome"]}\n{"question": "Q2?"}\n')
    with pytest.raises(AnswerSetError, match=r"qa.jsonl:2: no gold answer"):
        load_answer_set(path)
    path.write_text('{"question": "Q?", "answer": "Rome", "title": "T"}\nnot json\n')
    with pytest.raises(AnswerSetError, match=r"qa.jsonl:2: not valid JSON"):
        load_answer_set(path)
    path.write_text('{"question": "Q?", "answers": ["?!"]}\n')
    with pytest.raises(AnswerSetError, match="empty once normalised"):
        load_answer_set(path)


def test_every_shipped_answer_is_stated_in_its_gold_source():
    from parley.retrieval.sources import load_source

    summaries = {doc.title: doc.text for doc in load_source("wikipedia-vital-summaries")}
    docs = " ".join(p.read_text() for p in shipped_docs_path().glob("*.txt"))
    for name in SHIPPED_SETS:
        items = load_answer_set(shipped_path(name))
        assert len(items) >= 20
        for item in items:
            source = (
                docs
                if name.startswith("docs")
                else " ".join(summaries[t] for t in item.titles if t in summaries)
            )
            assert source, f"{name}: no gold source for {item.question}"
            assert contains_answer(source, item.answers), f"{name}: {item.question}"
    dev = {i.question for i in load_answer_set(shipped_path("wiki-dev"))}
    test = {i.question for i in load_answer_set(shipped_path("wiki-test"))}
    assert not dev & test


def test_the_report_judges_what_the_pipeline_replied(fake_engine):
    service = ChatService(fake_engine, ChatTemplateFormat(fake_engine), None)
    fake_engine.queue("Leo", " Tolstoy", " wrote it", " [3].")
    fake_engine.queue("I", " don't", " know.")
    items = [
        AnswerItem("Who wrote War and Peace?", ("Leo Tolstoy",), ("War and Peace",)),
        AnswerItem("Who wrote Little Women?", ("Louisa May Alcott",), ("Little Women",)),
    ]
    report = evaluate_answers(service, items, GenerationParams(temperature=0))
    first, second = report.results
    assert first.correct and first.reply == "Leo Tolstoy wrote it."  # [3]: no such source
    assert first.invented_marks == 0 and first.gold_cited is False
    assert not second.correct and second.refused
    summary = report.summary()
    assert summary["correct"] == 0.5 and summary["refusals"] == 1 and summary["loops"] == 0
    assert json.loads(json.dumps(report.as_dict()))["summary"]["n"] == 2
