"""The one JSON error shape the server answers with (OpenAI's), and error kinds as statuses."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from parley.service import ErrorKind

STATUS_OF_KIND: dict[ErrorKind, int] = {
    "invalid_request": 400,
    "not_found": 404,
    "unavailable": 503,
}
"""HTTP status for each kind of `ServiceError` (the service itself knows nothing of HTTP)."""


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
    error = {"message": message, "type": error_type(status), "param": param, "code": code}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A request field as clients write it: `messages[0].role` (not pydantic's tuple)."""
    path = ""
    for part in loc:
        if part == "body" and not path:
            continue
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
