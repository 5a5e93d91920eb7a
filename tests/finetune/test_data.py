"""Training data readers: every accepted shape, and `file:line` errors for every bad row."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parley.finetune.data import DataError, Message, read_dataset, split_holdout


def _jsonl(path: Path, *records: object) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_openai_chat_jsonl(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "chats.jsonl",
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello", "weight": 0},
                {"role": "user", "content": [{"type": "text", "text": "Price?"}]},
                {"role": "assistant", "content": "2,490 euros."},
            ]
        },
    )
    (conversation,) = read_dataset(path).conversations
    assert conversation.system == "Be brief."
    assert conversation.turns == (
        Message("user", "Hi"),
        Message("assistant", "Hello", train=False),
        Message("user", "Price?"),
        Message("assistant", "2,490 euros."),
    )
    assert conversation.origin == f"{path}:1"


def test_openchatkit_jsonl(tmp_path: Path) -> None:
    text = (
        "Current Date: 2023-03-10\nCurrent Time: 10:00:00 AM UTC\n\n"
        "<human>: Hi\n<bot>: Hello!\n<human>: Bye\n<bot>: See you.\n"
    )
    path = _jsonl(tmp_path / "ock.jsonl", {"text": text})
    (conversation,) = read_dataset(path).conversations
    assert [(m.role, m.text) for m in conversation.turns] == [
        ("user", "Hi"),
        ("assistant", "Hello!"),
        ("user", "Bye"),
        ("assistant", "See you."),
    ]


def test_csv_and_parquet_prompt_response(tmp_path: Path) -> None:
    csv_path = tmp_path / "faq.csv"
    csv_path.write_text('prompt,response\nHi,Hello\n"Multi\nline?",Yes\n', encoding="utf-8")
    conversations = read_dataset(csv_path).conversations
    assert [c.turns[1].text for c in conversations] == ["Hello", "Yes"]
    assert conversations[1].origin == f"{csv_path}:4"  # the line the quoted row ends on
    parquet = tmp_path / "faq.parquet"
    pq.write_table(pa.table({"prompt": ["Q1", "Q2"], "response": ["A1", "A2"]}), parquet)
    assert [c.turns[0].text for c in read_dataset(parquet).conversations] == ["Q1", "Q2"]


def test_every_bad_row_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [
        json.dumps({"prompt": "ok", "response": "fine"}),
        "{not json",
        json.dumps({"messages": [{"role": "assistant", "content": "first?"}]}),
        json.dumps({"messages": [{"role": "user", "content": "no reply"}]}),
        "",
        json.dumps({"messages": [{"role": "tool", "content": "x"}]}),
        json.dumps({"text": "no markers here"}),
        json.dumps({"prompt": "", "response": "x"}),
        json.dumps({"question_text": "q"}),
        json.dumps([1, 2]),
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "content": "b", "weight": 0},
                ]
            }
        ),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_dataset(path)
    problems = caught.value.problems
    assert [p.split(": ", 1)[0] for p in problems] == [
        f"{path}:{n}" for n in (2, 3, 4, 6, 7, 8, 9, 10, 11)
    ]
    text = str(caught.value)
    for fragment in (
        "not valid JSON",
        "must start with a user message",
        "ends with a user message",
        "role 'tool' is not supported",
        "no '<human>:' or '<bot>:' turn",
        "'prompt' must be a non-empty string",
        "expected 'messages'",
        "expected a JSON object",
        "no assistant reply to learn from",
    ):
        assert fragment in text, fragment


def test_csv_missing_columns_and_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("question_text,reply_text\nHi,Hello\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:2: expected 'messages'"):
        read_dataset(path)
    other = tmp_path / "data.txt"
    other.write_text("hi")
    with pytest.raises(DataError, match=r"unknown data format '\.txt'"):
        read_dataset(other)
    with pytest.raises(DataError, match="no such file"):
        read_dataset(tmp_path / "missing.jsonl")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(DataError, match="no examples"):
        read_dataset(empty)


def test_holdout_split_is_seeded_and_order_free(tmp_path: Path) -> None:
    records = [{"prompt": f"q{i}", "response": f"a{i}"} for i in range(20)]
    forward = read_dataset(_jsonl(tmp_path / "a.jsonl", *records)).conversations
    backward = read_dataset(_jsonl(tmp_path / "b.jsonl", *reversed(records))).conversations
    train, held = split_holdout(forward, 0.2, seed=1)
    assert len(held) == 4 and len(train) == 16
    assert [c.messages for c in held] == [c.messages for c in split_holdout(backward, 0.2, 1)[1]]
    assert [c.messages for c in held] != [c.messages for c in split_holdout(forward, 0.2, 2)[1]]
    with pytest.raises(ValueError):
        split_holdout(forward[:1], 0.5, 0)
