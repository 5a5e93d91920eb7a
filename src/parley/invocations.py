"""The SageMaker invocation contract's bodies, shared by the HTTP route and the DJL handler.

A reply is `{"outputs", "session_id", "sources", "moderation", "finish_reason"}`; a stream is
JSON lines: `{"outputs": [piece]}` per piece, a withdrawn reply followed by its refusal
(`"replace"` carries it: the text shown so far is to be replaced), and a closing line with the
reply's facts and no text.
"""

from __future__ import annotations

import json
from typing import Any, assert_never

from parley.service import ChatEvent, ChatReply, Delta, Finished, Replaced, Started

SESSION_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
"""SageMaker passes this header through; the streamed reply's session id rides in it."""


def reply_body(reply: ChatReply) -> dict[str, Any]:
    """The non-streamed answer."""
    return {
        "outputs": reply.text,
        "session_id": reply.session_id,
        "sources": reply.sources,
        "moderation": reply.moderation.as_dict(),
        "finish_reason": reply.finish_reason,
    }


def session_attribute(session_id: str | None) -> str:
    return f"session_id={session_id}"


def jsonline(event: ChatEvent) -> bytes | None:
    """The stream line for one pipeline event (None for the opening event)."""
    match event:
        case Started():
            return None  # its session id is in the response header
        case Delta(text=text):
            return _line({"outputs": [text]})
        case Replaced(text=text):
            return _line({"outputs": ["\n\n" + text], "replace": text})
        case Finished(reply=reply):
            return _line({**reply_body(reply), "outputs": []})
        case _:
            assert_never(event)


def error_line(error: str | dict[str, object]) -> bytes:
    """The closing line of a stream that failed after its first piece: the message, or the
    server's error object (`{"message", "type", "code"}`)."""
    return _line({"outputs": [], "error": error})


def _line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")
