"""A stand-in for DJL Serving's `djl_python` package, which cannot be installed here.

It follows DJL's documented Python-engine interface as far as Parley's handler uses it:
`Input` carries a properties dict and a `PairList` of named byte contents (`get_properties`,
`get_property`, `get_content`, `is_empty`, `get_as_bytes`, `get_as_string`, `get_as_json`),
and `Output` carries a code, message, properties and a `PairList` (`add_property`, `add`,
`add_as_json`, `add_stream_content`, `error`). `run_request` plays the engine's part: it
calls the entry point's `handle` and collects either the content or the streamed chunks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


class PairList:
    """An ordered list of (key, value) pairs, as DJL keeps request and response contents."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []
        self.values: list[Any] = []

    def add(self, key: str | None = None, value: Any = None) -> None:
        self.keys.append(key)
        self.values.append(value)

    def size(self) -> int:
        return len(self.keys)

    def is_empty(self) -> bool:
        return not self.keys

    def key_at(self, index: int) -> str | None:
        return self.keys[index]

    def value_at(self, index: int) -> Any:
        return self.values[index]

    def get(self, key: str) -> Any:
        for k, v in zip(self.keys, self.values, strict=True):
            if k == key:
                return v
        return None


class Input:
    def __init__(self) -> None:
        self.properties: dict[str, str] = {}
        self.content = PairList()

    def get_properties(self) -> dict[str, str]:
        return self.properties

    def get_property(self, key: str) -> str | None:
        return next((v for k, v in self.properties.items() if k.lower() == key.lower()), None)

    def get_content(self) -> PairList:
        return self.content

    def is_empty(self) -> bool:
        return self.content.is_empty()

    def get_as_bytes(self, key: str | None = None) -> bytes | None:
        if self.content.is_empty():
            return None
        if key:
            value = self.content.get(key)
            if value is None:
                raise KeyError(f"requested data for key:{key} is not found!")
            return bytes(value)
        value = self.content.get("data")
        return bytes(value if value is not None else self.content.value_at(0))

    def get_as_string(self, key: str | None = None) -> str:
        raw = self.get_as_bytes(key)
        return "" if raw is None else raw.decode("utf-8")

    def get_as_json(self, key: str | None = None) -> Any:
        return json.loads(self.get_as_string(key))


class Output:
    def __init__(self, code: int = 200, message: str = "OK") -> None:
        self.code = code
        self.message = message
        self.properties: dict[str, str] = {}
        self.content = PairList()
        self.stream_content: Iterable[Any] | None = None

    def set_code(self, code: int) -> Output:
        self.code = code
        return self

    def set_message(self, message: str) -> Output:
        self.message = message
        return self

    def add_property(self, key: str, val: str) -> Output:
        self.properties[key] = val
        return self

    def add(self, value: Any, key: str | None = None) -> Output:
        if isinstance(value, str):
            self.content.add(key, value.encode("utf-8"))
        elif isinstance(value, bytes | bytearray):
            self.content.add(key, bytearray(value))
        else:
            self.add_as_json(value, key)
        return self

    def add_as_json(self, val: Any, key: str | None = None) -> Output:
        encoded = json.dumps(val, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        self.content.add(key, bytearray(encoded.encode("utf-8")))
        return self

    def add_stream_content(
        self, stream_content: Iterable[Any], output_formatter: Any = None
    ) -> None:
        self.stream_content = stream_content

    def error(self, error: str, code: int = 424, message: str = "prediction failure") -> Output:
        self.code = code
        self.message = message
        self.add_property("content-type", "application/json")
        self.add_as_json({"code": code, "message": message, "error": error})
        return self


@dataclass
class Response:
    """What DJL would send back for one call."""

    code: int
    properties: dict[str, str]
    body: bytes
    chunks: list[bytes] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


def run_request(
    handle: Callable[[Input], Output | None],
    properties: dict[str, str],
    body: bytes | None = None,
    content_type: str = "application/json",
) -> Response | None:
    """One call of the Python engine: properties, optional content, then the output."""
    request = Input()
    request.properties = dict(properties)
    if body is not None:
        request.properties["Content-Type"] = content_type
        request.content.add("data", bytearray(body))
    output = handle(request)
    if output is None:
        return None
    if output.stream_content is not None:
        chunks = [_as_bytes(chunk) for chunk in _iterate(output.stream_content)]
        return Response(output.code, output.properties, b"".join(chunks), chunks)
    body_bytes = b"".join(bytes(output.content.value_at(i)) for i in range(output.content.size()))
    return Response(output.code, output.properties, body_bytes)


def _iterate(stream: Iterable[Any]) -> Iterator[Any]:
    yield from stream


def _as_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, bytes | bytearray):
        return bytes(chunk)
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    raise TypeError(f"DJL streams bytes or str, got {type(chunk).__name__}")
