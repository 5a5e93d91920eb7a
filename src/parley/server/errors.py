"""The one JSON error shape the server answers with (OpenAI's), and error kinds as statuses."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from parley.service import ErrorKind, ServiceError

STATUS_OF_KIND: dict[ErrorKind, int] = {
    "invalid_request": 400,
    "not_found": 404,
    "unavailable": 503,
}
"""HTTP status for each kind of `ServiceError` (the service itself knows nothing of HTTP)."""

MAX_ERROR_CHARS = 1000
"""Longest error message sent: an error never echoes a huge input back."""


def bounded(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """`message`, cut to `limit` characters."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def error_type(status: int) -> str:
    """OpenAI's error `type` for an HTTP status."""
    if status == 429:
        return "requests"
    return "server_error" if status >= 500 else "invalid_request_error"


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> JSONResponse:
    """OpenAI's error shape: `{"error": {"message", "type", "param", "code"}}`."""
    error = {
        "message": bounded(message),
        "type": error_type(status),
        "param": bounded(param, 200) if param is not None else None,
        "code": code,
    }
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A request field as clients write it: `messages[0].role` (not pydantic's tuple)."""
    path = ""
    for part in loc:
        if part == "body" and not path:
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def error_body(error: ServiceError) -> dict[str, object]:
    """The `error` object for a service error sent inside a stream (headers already sent):
    the kind as `type`, the status it would have had as `code`."""
    kind = error.kind
    return {"message": bounded(str(error)), "type": kind, "code": STATUS_OF_KIND[kind]}
