"""Labelled moderation data: JSONL loading with clear errors, and the deterministic split."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from parley.jsonl import read_jsonl
from parley.moderation.labels import Label

TEXT_KEYS = ("text", "context", "input")
"""Accepted names of the text field (`context` is ProsocialDialog's, `input` OIG's)."""
LABEL_KEYS = ("label", "safety_label", "output")
"""Accepted names of the label field (`safety_label` is ProsocialDialog's)."""

DEFAULT_DEV_FRACTION = 0.2
DEFAULT_SEED = 0


class DataError(ValueError):
    """A labelled data file is malformed; the message starts with `file:line:`."""


@dataclass(frozen=True)
class Example:
    """One labelled text."""

    text: str
    label: Label
    kind: str = ""
    """Optional sub-part the text belongs to (e.g. `leet`, `es`), for per-kind reports."""


BOT_PREFIX = "Bot: "
"""How a bot reply is written in labelled data; the classifier sees bot replies this way too."""


def _shipped(part: str) -> Path:
    folder = resources.files("parley") / "data" / "moderation"
    return Path(str(folder / f"parley_moderation.{part}.jsonl"))


def shipped_train_path() -> Path:
    """The hand-written training texts of Parley's set (`shipped_part("train")` adds the
    templated ones)."""
    return _shipped("train")


def shipped_dev_path() -> Path:
    """The hand-written dev texts: never trained on; used to choose the head's settings."""
    return _shipped("dev")


def shipped_test_path() -> Path:
    """The hand-written test texts, written without sight of train and dev; never trained on
    nor used to choose anything."""
    return _shipped("test")


SHIPPED_PARTS: dict[str, tuple[str, ...]] = {
    "train": ("train", "templated.train"),
    "dev": ("dev", "templated.dev"),
    "test": ("test", "templated.test"),
    "overrefusal": ("overrefusal",),
    "obfuscated": ("obfuscated",),
    "output": ("output",),
    "replies": ("replies",),
    "requests": ("requests",),
    "written_replies": ("written_replies",),
}
"""Parts of Parley's set by name -> their files (`parley_moderation.<file>.jsonl`). The
templated files come from `scripts/moderation_data.py` and are split by template and act, so
dev and test phrasings and acts never occur in train. `overrefusal` (safe prompts that look
unsafe, with unsafe contrasts), `obfuscated` (spacing, leetspeak, homoglyphs, six other
languages), `output` (bot text), `replies` (whole replies of the default model, judged as
they stream), `requests` (user requests written apart from Parley's data and templates) and
`written_replies` (assistant replies written apart: compliance with harmful requests and harmless
answers) are evaluation-only."""


def shipped_part_paths(name: str) -> list[Path]:
    """The files of the shipped part `name` (see SHIPPED_PARTS)."""
    try:
        files = SHIPPED_PARTS[name]
    except KeyError:
        known = ", ".join(SHIPPED_PARTS)
        raise DataError(f"unknown part {name!r}; known: {known}") from None
    return [_shipped(f) for f in files]


def load_shipped(name: str) -> list[Example]:
    """All examples of the shipped part `name`, file after file."""
    return [e for path in shipped_part_paths(name) for e in load_examples(path)]


def role_text(text: str, role: str) -> str:
    """The text as the classifier sees it: bot replies carry BOT_PREFIX, as in the data."""
    if role == "bot" and not text.startswith(BOT_PREFIX):
        return BOT_PREFIX + text
    return text


def role_of(text: str) -> str:
    """`bot` for a labelled text written as a bot reply (BOT_PREFIX), else `user`."""
    return "bot" if text.startswith(BOT_PREFIX) else "user"


def load_examples(path: str | Path) -> list[Example]:
    """Examples of a JSONL file, one `{"text": ..., "label": ...}` object a line.

    Blank lines are skipped. Any problem raises DataError naming the file and line.
    """
    path = Path(path)
    examples = [_example(record, where) for where, record in read_jsonl(path, error=DataError)]
    if not examples:
        raise DataError(f"{path}: no examples")
    return examples


def _example(record: dict, where: str) -> Example:
    text_key = next((k for k in TEXT_KEYS if k in record), None)
    label_key = next((k for k in LABEL_KEYS if k in record), None)
    if text_key is None:
        raise DataError(f"{where}: missing field 'text'")
    if label_key is None:
        raise DataError(f"{where}: missing field 'label'")
    text, label = record[text_key], record[label_key]
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: field {text_key!r} must be a non-empty string")
    if not isinstance(label, str):
        raise DataError(f"{where}: field {label_key!r} must be a string, got {label!r}")
    try:
        parsed = Label.parse(label)
    except ValueError as exc:
        raise DataError(f"{where}: {exc}") from None
    kind = record.get("kind", "")
    return Example(text.strip(), parsed, kind if isinstance(kind, str) else str(kind))


def split(
    examples: list[Example],
    dev_fraction: float = DEFAULT_DEV_FRACTION,
    seed: int = DEFAULT_SEED,
) -> tuple[list[Example], list[Example]]:
    """(train, dev): stratified by label, seeded, independent of the file's line order."""
    if not 0.0 <= dev_fraction < 1.0:
        raise ValueError("dev_fraction must be in [0, 1)")
    by_label: dict[Label, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    train, dev = [], []
    for label in sorted(by_label):
        # Sorting by a hash of the text makes the split depend on the data, not on its order.
        group = sorted(by_label[label], key=lambda e: _text_hash(e.text))
        random.Random(f"{seed}:{label.value}").shuffle(group)
        n_dev = round(len(group) * dev_fraction) if len(group) > 1 else 0
        dev.extend(group[:n_dev])
        train.extend(group[n_dev:])
    return train, dev


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
