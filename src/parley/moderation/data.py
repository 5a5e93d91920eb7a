"""Labelled moderation data: JSONL loading with clear errors, and the deterministic split."""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

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


def shipped_data_path() -> Path:
    """Parley's own labelled set (train and dev together)."""
    return Path(str(resources.files("parley") / "data" / "moderation" / "parley_moderation.jsonl"))


def shipped_dev_path() -> Path:
    """The held-out dev split of Parley's set (`split(shipped set)[1]`, written out)."""
    return shipped_data_path().with_name("parley_moderation.dev.jsonl")


def load_examples(path: str | Path) -> list[Example]:
    """Examples of a JSONL file, one `{"text": ..., "label": ...}` object a line.

    Blank lines are skipped. Any problem raises DataError naming the file and line.
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    examples = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(record).__name__}")
        examples.append(_example(record, where))
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
    return Example(text.strip(), parsed)


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


def write_examples(examples: list[Example], path: str | Path) -> None:
    """Write examples as JSONL (`{"text", "label"}` with plain label spellings)."""
    with Path(path).open("w", encoding="utf-8") as out:
        for example in examples:
            record = {"text": example.text, "label": example.label.value}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
