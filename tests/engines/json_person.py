"""One JSON schema the engines' JSON-mode tests constrain a reply to, and its check."""

from __future__ import annotations

import json

PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def assert_person(text: str) -> None:
    """`text` is a JSON object with exactly a name and an integer age."""
    value = json.loads(text)
    assert set(value) == {"name", "age"}
    assert isinstance(value["age"], int)
