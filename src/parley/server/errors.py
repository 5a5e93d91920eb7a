"""The one JSON error shape the server answers with."""

from __future__ import annotations

from fastapi.responses import JSONResponse

MAX_ERROR_CHARS = 1000
"""Longest error message sent: an error never echoes a huge input back."""


def bounded(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """`message`, cut to `limit` characters."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def error_response(
    status: int, message: str, kind: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """`{"error": {"message", "type", "code"}}` with `status`."""
    return JSONResponse(
        {"error": {"message": bounded(message), "type": kind, "code": status}},
        status_code=status,
        headers=headers,
    )
