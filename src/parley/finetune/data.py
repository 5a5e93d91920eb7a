"""Training data: chat conversations read from JSONL, CSV or Parquet, with `file:line` errors.

Accepted shapes (one record a line or row):
- OpenAI chat: `{"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}`;
  an assistant message with `"weight": 0` is context only (no loss on it). This is also what
  `parley sessions export --format openai` writes.
- OpenChatKit: `{"text": "<human>: ...\\n<bot>: ..."}` (a `Current Date:` header is ignored).
- Prompt/response: `{"prompt": ..., "response": ...}` (or `completion`), and CSV or Parquet
  files with `prompt` and `response` columns.

Nothing is dropped silently: every bad record is reported, and none is trained on.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

MessageRole = Literal["system", "user", "assistant"]
MAX_REPORTED = 20
"""Problems listed in one DataError; the rest are counted."""


class DataError(ValueError):
    """Training data is unusable; each line of the message starts with `file:line:`."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:MAX_REPORTED]
        more = len(self.problems) - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more problems" if more > 0 else "")
        super().__init__(text)


@dataclass(frozen=True)
class Message:
    """One message of a training conversation."""

    role: MessageRole
    text: str
    train: bool = True
    """For assistant messages: whether the loss covers it (OpenAI's `weight`)."""


@dataclass(frozen=True)
class Conversation:
    """Messages ending with an assistant reply; `origin` is `file:line` for error messages."""

    messages: tuple[Message, ...]
    origin: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def system(self) -> str | None:
        """The conversation's own system prompt, if it has one."""
        first = self.messages[0]
        return first.text if first.role == "system" else None

    @property
    def turns(self) -> tuple[Message, ...]:
        """The user and assistant messages."""
        return tuple(m for m in self.messages if m.role != "system")


@dataclass
class Dataset:
    """Conversations read from one file, and what identifies the data in the model card."""

    path: Path
    conversations: list[Conversation]

    @property
    def sha256(self) -> str:
        return file_sha256(self.path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_dataset(path: str | Path) -> Dataset:
    """Every conversation of `path` (.jsonl/.json, .csv, .parquet); DataError lists all problems."""
    path = Path(path)
    if not path.is_file():
        raise DataError([f"{path}: no such file"])
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        records = _jsonl_records(path)
    elif suffix == ".csv":
        records = _csv_records(path)
    elif suffix == ".parquet":
        records = _parquet_records(path)
    else:
        shown = suffix or "(no suffix)"
        raise DataError([f"{path}: unknown data format {shown!r}; use .jsonl, .csv or .parquet"])
    conversations: list[Conversation] = []
    problems: list[str] = []
    for where, record in records:
        if isinstance(record, str):  # the reader already found the problem
            problems.append(f"{where}: {record}")
            continue
        try:
            conversations.append(conversation_of(record, where))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise DataError(problems)
    if not conversations:
        raise DataError([f"{path}: no examples"])
    return Dataset(path, conversations)


Record = tuple[str, dict[str, Any] | str]
"""(`file:line`, the record) or (`file:line`, a problem the reader found)."""


def _jsonl_records(path: Path) -> Iterator[Record]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        yield f"{path}", f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        return
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield where, f"not valid JSON ({exc.msg} at column {exc.colno})"
            continue
        if not isinstance(record, dict):
            yield where, f"expected a JSON object, got {type(record).__name__}"
            continue
        yield where, record


def _csv_records(path: Path) -> Iterator[Record]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                yield f"{path}:1", "empty CSV file (expected a header with prompt,response)"
                return
            for row in reader:
                # line_num is the line the row ended on (rows may span lines when quoted).
                where = f"{path}:{reader.line_num}"
                if None in row:
                    yield where, "more fields than the header has"
                    continue
                yield where, dict(row)
    except UnicodeDecodeError as exc:
        yield f"{path}", f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    except csv.Error as exc:
        yield f"{path}", f"not valid CSV ({exc})"


def _parquet_records(path: Path) -> Iterator[Record]:
    import pyarrow.parquet as pq
    from pyarrow import ArrowException

    try:
        table = pq.read_table(path)
    except (ArrowException, OSError) as exc:
        yield f"{path}", f"not a readable Parquet file ({exc})"
        return
    for number, row in enumerate(table.to_pylist(), start=1):
        yield f"{path}:row {number}", row


PROMPT_KEYS = ("prompt", "question", "input")
RESPONSE_KEYS = ("response", "completion", "answer", "output")


def conversation_of(record: dict[str, Any], where: str) -> Conversation:
    """The conversation a record holds, in any accepted shape; ValueError says what is wrong."""
    if "messages" in record:
        messages = _openai_messages(record["messages"])
        meta = record.get("parley") if isinstance(record.get("parley"), dict) else {}
    elif "text" in record:
        messages = openchatkit_messages(record["text"])
        meta = {}
    else:
        prompt_key = next((k for k in PROMPT_KEYS if k in record), None)
        response_key = next((k for k in RESPONSE_KEYS if k in record), None)
        if prompt_key is None or response_key is None:
            keys = ", ".join(sorted(record)) or "none"
            raise ValueError(
                "expected 'messages' (OpenAI chat), 'text' (OpenChatKit) or 'prompt' and "
                f"'response' fields; found {keys}"
            )
        prompt = _text_field(record[prompt_key], prompt_key)
        response = _text_field(record[response_key], response_key)
        messages = [Message("user", prompt), Message("assistant", response)]
        meta = {}
    check_conversation(messages)
    return Conversation(tuple(messages), where, meta or {})


def _text_field(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"field {name!r} must be a non-empty string, got {value!r}")
    return value.strip()


def _openai_messages(raw: Any) -> list[Message]:
    if not isinstance(raw, list) or not raw:
        raise ValueError("'messages' must be a non-empty list")
    messages: list[Message] = []
    for index, item in enumerate(raw):
        where = f"messages[{index}]"
        if not isinstance(item, dict):
            raise ValueError(f"{where} must be an object")
        role = item.get("role")
        if role == "developer":
            role = "system"
        if role not in ("system", "user", "assistant"):
            raise ValueError(f"{where}: role {role!r} is not supported (system, user, assistant)")
        if item.get("tool_calls"):
            raise ValueError(f"{where}: tool calls are not supported")
        text = _content_text(item.get("content"), where)
        weight = item.get("weight", 1)
        if weight not in (0, 1) or isinstance(weight, bool):
            raise ValueError(f"{where}: weight must be 0 or 1, got {weight!r}")
        if weight == 0 and role != "assistant":
            raise ValueError(f"{where}: only assistant messages take a weight")
        if role == "system" and index != 0:
            raise ValueError(f"{where}: a system message may only come first")
        messages.append(Message(role, text, train=weight == 1))
    return messages


def _content_text(content: Any, where: str) -> str:
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                raise ValueError(f"{where}: only text content parts are supported")
            parts.append(part.get("text"))
        content = "".join(p for p in parts if isinstance(p, str))
    if not isinstance(content, str) or not content.strip():
        raise ValueError(f"{where}: content must be non-empty text")
    return content.strip()


_OPENCHATKIT_MARK = re.compile(r"<(human|bot)>:[ \t]?")
_DATE_HEADER = re.compile(r"^\s*Current Date:.*\nCurrent Time:.*\n", re.MULTILINE)


def openchatkit_messages(text: Any) -> list[Message]:
    """`<human>: ...\\n<bot>: ...` turns; a leading `Current Date/Time` header is ignored."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("field 'text' must be a non-empty string")
    marks = list(_OPENCHATKIT_MARK.finditer(text))
    if not marks:
        raise ValueError("no '<human>:' or '<bot>:' turn in 'text'")
    before = _DATE_HEADER.sub("", text[: marks[0].start()], count=1)
    if before.strip():
        raise ValueError(f"text before the first turn: {before.strip()[:40]!r}")
    messages = []
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[mark.end() : end].strip()
        role: MessageRole = "user" if mark.group(1) == "human" else "assistant"
        if not body:
            raise ValueError(f"empty <{mark.group(1)}> turn at character {mark.start()}")
        messages.append(Message(role, body))
    return messages


def check_conversation(messages: Sequence[Message]) -> None:
    """ValueError unless every assistant reply follows a user message and one is trained on."""
    turns = [m for m in messages if m.role != "system"]
    if not turns or turns[0].role != "user":
        raise ValueError("the conversation must start with a user message")
    for index, message in enumerate(turns):
        if message.role == "assistant" and turns[index - 1].role != "user":
            raise ValueError(f"assistant message {index + 1} does not follow a user message")
    if turns[-1].role == "user":
        raise ValueError("the conversation ends with a user message (no reply to learn)")
    if not any(m.role == "assistant" and m.train for m in turns):
        raise ValueError("no assistant reply to learn from (all have weight 0)")


def split_holdout(
    conversations: Sequence[Conversation], fraction: float, seed: int
) -> tuple[list[Conversation], list[Conversation]]:
    """(train, held out): a seeded shuffle independent of the file's order; at least one each."""
    if not 0.0 < fraction < 1.0:
        raise ValueError("the eval split must be between 0 and 1")
    ordered = sorted(conversations, key=lambda c: _hash(c))
    random.Random(seed).shuffle(ordered)
    n_eval = max(1, round(len(ordered) * fraction))
    if n_eval >= len(ordered):
        raise ValueError(f"{len(ordered)} examples are too few to hold {fraction:.0%} out")
    return ordered[n_eval:], ordered[:n_eval]


def _hash(conversation: Conversation) -> str:
    text = "\x00".join(f"{m.role}:{m.text}" for m in conversation.messages)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
