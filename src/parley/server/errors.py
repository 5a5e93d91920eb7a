"""The one JSON error shape the server answers with, and the service's error kinds as statuses."""

from __future__ import annotations

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


def error_response(
    status: int, message: str, kind: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """`{"error": {"message", "type", "code"}}` with `status`."""
    return JSONResponse(
        {"error": {"message": bounded(message), "type": kind, "code": status}},
        status_code=status,
        headers=headers,
    )


def error_body(error: ServiceError) -> dict[str, object]:
    """The `error` object for a service error sent inside a stream (headers already sent)."""
    kind = error.kind
    return {"message": bounded(str(error)), "type": kind, "code": STATUS_OF_KIND[kind]}
