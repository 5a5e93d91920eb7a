"""Tool calling on any engine that constrains its output to a JSON schema.

The tools are described to the model in the prompt, and its reply is constrained to one JSON
object: `{"tool_calls": [{"name": ..., "arguments": {...}}, ...]}` to call tools, or
`{"content": ...}` to answer (only the first shape when a call is required). The schema puts
each tool's own `parameters` schema under its name, so the engine's grammar (llama.cpp's
JSON-schema grammar, vLLM's guided decoding) makes every call name a real tool with arguments
that match its schema. This works with any model and prompt format, the same way on every
engine that takes a JSON schema; a model's native tool-call template is not used.

Written here rather than taken from a library: the OpenAI-compatible servers that do this
(llama.cpp's generic tool format, vLLM's parsers) do it on their chat endpoint, from their own
prompt, and Parley builds the prompt itself (format, history, retrieved context).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

MAX_TOOLS = 128
MAX_TOOLS_JSON = 64_000
"""Characters of tool definitions (serialised): they go into every prompt and grammar."""
MAX_SCHEMA_DEPTH = 32
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DEFINITION_KEYS = ("$defs", "definitions")


class ToolError(ValueError):
    """Tool definitions or a tool choice that cannot be used; the message says which."""


@dataclass(frozen=True)
class Tool:
    """A function the model may call: its name, what it does, and its arguments' schema."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """A call the model made: the tool's name and its arguments as a JSON object."""

    name: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class ToolReply:
    """What a constrained reply said: an answer, or the calls to make."""

    content: str | None
    calls: tuple[ToolCall, ...] = ()


Choice = Literal["auto", "required"] | str
"""`auto` (answer or call), `required` (call at least one tool), or one tool's name."""


@dataclass(frozen=True)
class ToolCalling:
    """The tools of one request and how the model may use them."""

    tools: tuple[Tool, ...]
    choice: Choice = "auto"
    parallel: bool = True
    """Whether one reply may call several tools."""
    content_schema: Mapping[str, Any] | None = None
    """The answer's own JSON schema (`{}`: any object), when the answer must be JSON too."""
    _schema: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tools:
            raise ToolError("tools: at least one tool is needed")
        if len(self.tools) > MAX_TOOLS:
            raise ToolError(f"tools: at most {MAX_TOOLS} tools ({len(self.tools)} given)")
        names = [tool.name for tool in self.tools]
        for name in names:
            if not TOOL_NAME.match(name):
                raise ToolError(
                    f"tools: the name {name[:80]!r} is not 1-64 letters, digits, _ or -"
                )
        if len(set(names)) != len(names):
            raise ToolError("tools: two tools have the same name")
        if self.choice not in ("auto", "required") and self.choice not in names:
            raise ToolError(f"tool_choice: no tool is named {self.choice!r}")
        for tool in self.tools:
            _check_schema(tool.parameters, f"tools[{tool.name}].parameters")
        size = len(json.dumps([tool.parameters for tool in self.tools]))
        size += sum(len(tool.description) for tool in self.tools)
        if size > MAX_TOOLS_JSON:
            raise ToolError(f"tools: the definitions are too long ({size} > {MAX_TOOLS_JSON})")
        # Built once, now: conflicting definitions are an error here, not upstream.
        object.__setattr__(self, "_schema", self._build_schema())

    @property
    def callable_tools(self) -> tuple[Tool, ...]:
        if self.choice in ("auto", "required"):
            return self.tools
        return tuple(tool for tool in self.tools if tool.name == self.choice)

    def instructions(self) -> str:
        """What the model is told, after the user's message: the tools and the reply's shape."""
        lines = ["You can call these tools:"]
        for tool in self.tools:
            about = f": {tool.description}" if tool.description else ""
            lines.append(f"- {tool.name}{about} Arguments: {json.dumps(tool.parameters)}")
        call = '{"tool_calls": [{"name": "<tool>", "arguments": {<arguments>}}]}'
        if self.choice == "auto":
            lines.append(
                f"Reply with JSON only: {call} to call tools, or "
                '{"content": "<your answer>"} to answer without one.'
            )
        elif self.choice == "required":
            lines.append(f"Call at least one tool. Reply with JSON only: {call}")
        else:
            lines.append(f"Call the tool {self.choice}. Reply with JSON only: {call}")
        return "\n".join(lines)

    def reply_schema(self) -> dict[str, Any]:
        """The JSON schema the reply is constrained to."""
        return self._schema

    def _build_schema(self) -> dict[str, Any]:
        definitions: dict[str, dict[str, Any]] = {}
        calls = []
        for tool in self.callable_tools:
            parameters = _lift_definitions(tool.parameters, definitions)
            if not parameters:
                parameters = {"type": "object", "properties": {}}
            calls.append(_object({"name": {"const": tool.name}, "arguments": parameters}))
        listed: dict[str, Any] = {
            "type": "array",
            "items": calls[0] if len(calls) == 1 else {"anyOf": calls},
            "minItems": 1,
        }
        if not self.parallel:
            listed["maxItems"] = 1
        schema = _object({"tool_calls": listed})
        if self.choice == "auto":
            content: dict[str, Any] = {"type": "string"}
            if self.content_schema is not None:  # JSON answers: `{}` is any object
                content = _lift_definitions(self.content_schema, definitions) or {"type": "object"}
            schema = {"anyOf": [_object({"content": content}), schema]}
        return {**schema, **{key: found for key, found in definitions.items() if found}}

    def answer_stream(self) -> AnswerStream | None:
        """A decoder that streams the answer as it is generated, where the answer is text."""
        if self.choice != "auto" or self.content_schema is not None:
            return None
        return AnswerStream()

    def parse(self, text: str) -> ToolReply | None:
        """The reply's answer or calls; None when it is not a finished reply of that shape
        (e.g. cut by the token limit)."""
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        if "content" in value and self.choice == "auto":
            content = value["content"]
            return ToolReply(content if isinstance(content, str) else json.dumps(content))
        calls = value.get("tool_calls")
        if not isinstance(calls, list) or not calls:
            return None
        names = {tool.name for tool in self.callable_tools}
        parsed = []
        for call in calls:
            if not isinstance(call, dict) or call.get("name") not in names:
                return None
            arguments = call.get("arguments")
            if not isinstance(arguments, dict):
                return None
            if ToolCall(call["name"], arguments) not in parsed:  # a repeat is no new call
                parsed.append(ToolCall(call["name"], arguments))
        return ToolReply(None, tuple(parsed))


_ANSWER_OPENING = re.compile(r'\s*\{\s*"content"\s*:\s*"')
_LONGEST_OPENING = 64
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "\\": "\\", "/": "/"}


_HIGH_HALF = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")
_PAIR = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")


class AnswerStream:
    """The answer of an `auto` reply while it is generated: the string in `{"content": "...`
    decoded as it grows, so an answer streams like any reply (calls are read whole at the
    end). Escapes cut between pieces wait for the rest."""

    def __init__(self) -> None:
        self._raw = ""
        self._at: int | None = None
        """Where the undecoded answer text starts; None before the opening is seen."""
        self._closed = False
        self.text = ""
        """The answer decoded so far."""

    def feed(self, piece: str) -> str:
        """Add a piece of the reply; return the answer text it completes (maybe empty)."""
        self._raw += piece
        if self._closed:
            return ""
        if self._at is None:
            opening = _ANSWER_OPENING.match(self._raw)
            if opening is None:
                if len(self._raw) > _LONGEST_OPENING:
                    self._closed = True  # a call, or no answer of this shape
                return ""
            self._at = opening.end()
        decoded, self._at = self._decode(self._at)
        self.text += decoded
        return decoded

    def _decode(self, at: int) -> tuple[str, int]:
        raw, out = self._raw, list[str]()
        while at < len(raw):
            char = raw[at]
            if char == '"':
                self._closed = True
                return "".join(out), at + 1
            if char != "\\":
                out.append(char)
                at += 1
                continue
            if at + 1 >= len(raw):
                break
            if raw[at + 1] != "u":
                out.append(_ESCAPES.get(raw[at + 1], raw[at + 1]))
                at += 2
                continue
            if at + 6 > len(raw):
                break
            size = 12 if _PAIR.match(raw, at) else 6
            if size == 6 and _HIGH_HALF.match(raw, at) and at + 12 > len(raw):
                break  # the low half of a surrogate pair is still to come
            escape = raw[at : at + size]
            try:  # json decodes a pair, or one escape, as it would in the whole reply
                out.append(json.loads(f'"{escape}"'))
            except ValueError:
                out.append(escape)  # not an escape after all: kept as written
            at += size
        return "".join(out), at


def render_calls(calls: Sequence[tuple[str, str]]) -> str:
    """Earlier calls (name, arguments as JSON text) as the model writes them, for the history."""
    written = []
    for name, arguments in calls:
        try:
            value = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            value = arguments  # kept as the client sent it
        written.append({"name": name, "arguments": value})
    return json.dumps({"tool_calls": written}, ensure_ascii=False)


def _lift_definitions(
    schema: Mapping[str, Any], definitions: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """`schema` without its `$defs`/`definitions`, which join `definitions`: references point
    at the root, and the reply schema is the root now."""
    rest = dict(schema)
    for key in _DEFINITION_KEYS:
        found = rest.pop(key, None) or {}
        if not isinstance(found, Mapping):
            raise ToolError(f"tools: {key} must be an object of schemas")
        known = definitions.setdefault(key, {})
        for name, value in found.items():
            if known.get(name, value) != value:
                raise ToolError(f"tools: two schemas define {key}/{name} differently; rename one")
            known[name] = value
    return rest


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _check_schema(schema: Any, where: str) -> None:
    """A JSON schema is an object (or a boolean) of bounded depth; the engine checks the rest."""
    if not isinstance(schema, Mapping):
        raise ToolError(f"{where}: a JSON schema must be an object")

    def depth(value: Any, level: int) -> None:
        if level > MAX_SCHEMA_DEPTH:
            raise ToolError(f"{where}: nested deeper than {MAX_SCHEMA_DEPTH} levels")
        children = value.values() if isinstance(value, Mapping) else value
        if isinstance(value, Mapping | list):
            for child in children:
                depth(child, level + 1)

    depth(schema, 0)
    kind = schema.get("type", "object")
    if kind != "object":
        raise ToolError(f"{where}: the arguments must be a JSON object (type 'object')")
