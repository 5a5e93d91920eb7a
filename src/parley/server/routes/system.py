"""`/ping` (SageMaker), `/health`, `/metrics` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from parley.server.deps import state_of
from parley.server.errors import error_response
from parley.server.schemas import error_responses

router = APIRouter(tags=["system"])


@router.get(
    "/ping",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **error_responses(503),
    },
)
def ping(request: Request) -> Response:
    """200 when the model is loaded and the server can answer (SageMaker health check)."""
    if not state_of(request).ready:
        return error_response(503, "not ready", "unavailable")
    return PlainTextResponse("")


@router.get("/health")
def health(request: Request) -> dict[str, object]:
    """What the server runs and how busy it is."""
    state = state_of(request)
    return {
        "status": "ok",
        **state.service.describe(),
        "queue": {
            "running": state.gate.running,
            "waiting": state.gate.waiting,
        },
    }


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    registry = state_of(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
