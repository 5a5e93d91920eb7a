"""The one JSON error shape the server answers with, and the service's error kinds as statuses."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from parley.service import ErrorKind

STATUS_OF_KIND: dict[ErrorKind, int] = {
    "invalid_request": 400,
    "not_found": 404,
    "unavailable": 503,
}
"""HTTP status for each kind of `ServiceError` (the service itself knows nothing of HTTP)."""


def error_response(
    status: int, message: str, kind: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """`{"error": {"message", "type", "code"}}` with `status`."""
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": status}},
        status_code=status,
        headers=headers,
    )
