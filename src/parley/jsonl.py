"""The one JSON-lines reader: one object a line, blank lines skipped, errors say file:line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


class JSONLinesError(ValueError):
    """A JSON-lines file that cannot be read; the message starts with `file:line`."""


def read_jsonl(
    path: str | Path, *, error: Callable[[str], Exception] = JSONLinesError
) -> Iterator[tuple[str, dict[str, Any]]]:
    """`(where, object)` for each non-blank line, `where` being `file:line` for the caller's
    own errors. Problems raise `error(message)`: a missing file, text that is not UTF-8, a line
    that is not JSON or not an object. The file is read lazily, line by line."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise error(f"{where}: not UTF-8 text ({exc.reason})") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                # json's messages may end in "at" ("Invalid control character at").
                reason = exc.msg.removesuffix(" at")
                raise error(f"{where}: not valid JSON ({reason} at column {exc.colno})") from None
            if not isinstance(record, dict):
                raise error(f"{where}: expected a JSON object, got {type(record).__name__}")
            yield where, record
