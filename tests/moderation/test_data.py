import json

import pytest

from parley.moderation.data import (
    DataError,
    load_examples,
    load_shipped,
    role_of,
    role_text,
    shipped_part_paths,
    split,
)
from parley.moderation.labels import Label


def write(tmp_path, lines):
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good(text="hello", label="casual"):
    return json.dumps({"text": text, "label": label})


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", r"data.jsonl:3: not valid JSON"),
        ('["a list"]', r"data.jsonl:3: expected a JSON object, got list"),
        ('{"label": "casual"}', r"data.jsonl:3: missing field 'text'"),
        ('{"text": "hi"}', r"data.jsonl:3: missing field 'label'"),
        ('{"text": "hi", "label": "toxic"}', r"data.jsonl:3: unknown moderation label 'toxic'"),
        ('{"text": "  ", "label": "casual"}', r"data.jsonl:3: field 'text' must be a non-empty"),
        ('{"text": "hi", "label": 3}', r"data.jsonl:3: field 'label' must be a string"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, bad_line, message):
    path = write(tmp_path, [good(), "", bad_line, good()])
    with pytest.raises(DataError, match=message):
        load_examples(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_examples(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="no examples"):
        load_examples(write(tmp_path, [""]))


def test_prosocial_spellings_and_fields(tmp_path):
    path = write(
        tmp_path,
        [
            json.dumps({"context": "I will hurt him", "safety_label": "__needs_intervention__"}),
            good("Nice day", "__casual__"),
        ],
    )
    examples = load_examples(path)
    assert [e.label for e in examples] == [Label.NEEDS_INTERVENTION, Label.CASUAL]


def test_shipped_parts_size_proportions_and_no_overlap():
    train, dev, test = load_shipped("train"), load_shipped("dev"), load_shipped("test")
    assert len(train) + len(dev) >= 4000
    for part in (train, dev, test):
        counts = {label: sum(e.label is label for e in part) for label in Label}
        assert all(counts.values())
        assert len({e.text.lower() for e in part}) == len(part)  # no duplicates
    # Mostly casual, like real chat traffic.
    assert sum(e.label is Label.CASUAL for e in train + dev) / len(train + dev) > 0.45
    # Nothing held out is trained on.
    seen = {e.text.lower() for e in train}
    assert not seen & {e.text.lower() for e in dev}
    assert not seen & {e.text.lower() for e in test}
    for name in ("overrefusal", "obfuscated", "output"):
        assert not seen & {e.text.lower() for e in load_shipped(name)}, name


def test_evaluation_parts_cover_their_kinds():
    obfuscated = load_shipped("obfuscated")
    kinds = {e.kind for e in obfuscated}
    assert {"spaced", "leet", "homoglyph", "es", "fr", "de", "it", "pt", "nl"} <= kinds
    assert "languages, unseen acts" in kinds
    overrefusal = load_shipped("overrefusal")
    safe = [e for e in overrefusal if e.kind == "safe"]
    assert len(safe) >= 50 and all(e.label is Label.CASUAL for e in safe)
    assert any(e.label is Label.NEEDS_INTERVENTION for e in overrefusal)
    output = load_shipped("output")
    assert all(e.text.startswith("Bot: ") for e in output)
    assert sum(e.kind == "wikipedia" for e in output) >= 500


def test_unknown_shipped_part_is_a_clear_error():
    with pytest.raises(DataError, match="unknown part 'nope'; known: train, dev"):
        shipped_part_paths("nope")


def test_split_is_stratified_deterministic_and_order_independent():
    examples = load_shipped("train")
    train, dev = split(examples)
    assert not {e.text for e in train} & {e.text for e in dev}
    assert len(dev) == pytest.approx(0.2 * len(examples), abs=5)
    for label in Label:
        share = sum(e.label is label for e in dev) / sum(e.label is label for e in examples)
        assert share == pytest.approx(0.2, abs=0.02)
    assert split(list(reversed(examples))) == (train, dev)


def test_role_text_marks_bot_replies_once():
    assert role_text("I will help.", "bot") == "Bot: I will help."
    assert role_text("Bot: I will help.", "bot") == "Bot: I will help."
    assert role_text("I will help.", "user") == "I will help."
    assert role_of("Bot: hi") == "bot" and role_of("hi") == "user"
