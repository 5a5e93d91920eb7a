from pathlib import Path

import pytest

from parley.jsonl import JSONLinesError, read_jsonl


def test_objects_with_their_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n{"b": 2}\n', encoding="utf-8")
    assert list(read_jsonl(path)) == [(f"{path}:1", {"a": 1}), (f"{path}:3", {"b": 2})]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1}\n{oops\n', r"a\.jsonl:2: not valid JSON"),
        (b'{"a": 1}\n[1, 2]\n', r"a\.jsonl:2: expected a JSON object, got list"),
        (b'{"a": 1}\n{"b": "\xff"}\n', r"a\.jsonl:2: not UTF-8 text"),
    ],
)
def test_bad_lines_name_the_file_and_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(content)
    with pytest.raises(JSONLinesError, match=message):
        list(read_jsonl(path))


def test_a_missing_file_raises_the_callers_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="no such file"):
        list(read_jsonl(tmp_path / "none.jsonl", error=KeyError))
