"""The FastAPI application: routers validate, call the service, return a schema."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from parley.server.deps import ServerState, authenticate, state_of
from parley.server.errors import STATUS_OF_KIND, error_response, field_path
from parley.server.knowledge import is_upload
from parley.server.limits import Overloaded
from parley.server.routes import knowledge, openai_routes, sagemaker, sessions, system, ui
from parley.server.settings import ServerSettings
from parley.server.streaming import StreamingReply, complete, open_stream, record_reply
from parley.service import ChatService, ServiceError

__all__ = [
    "ServerState",
    "StreamingReply",
    "authenticate",
    "complete",
    "create_app",
    "error_response",
    "open_stream",
    "record_reply",
    "state_of",
]

log = logging.getLogger("parley")


class BodyTooLarge(Exception):
    """The request body is over `server.max_body_bytes`."""


class LimitsAndMetrics:
    """Pure ASGI middleware: body size limit, request counts and latency per route.

    Not `BaseHTTPMiddleware`: that one hides `http.disconnect` from streaming responses, and a
    client that leaves mid-stream must stop its generation.
    """

    def __init__(self, app: Any, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        settings = self.state.settings
        limit = settings.max_upload_bytes if is_upload(scope) else settings.max_body_bytes
        status = 500
        message = f"request body larger than {limit} bytes"
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > limit:
            await error_response(413, message, "request_too_large")(scope, receive, send)
            self._record(scope, 413, started)
            return
        received = 0

        async def counting_receive() -> Any:
            nonlocal received
            event = await receive()
            received += len(event.get("body", b""))
            if received > limit:  # chunked uploads carry no content-length
                raise BodyTooLarge(message)
            return event

        async def status_send(event: Any) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = event["status"]
            await send(event)

        try:
            await self.app(scope, counting_receive, status_send)
        finally:
            self._record(scope, status, started)

    def _record(self, scope: Any, status: int, started: float) -> None:
        metrics, gate = self.state.metrics, self.state.gate
        route = getattr(scope.get("route"), "path", "unmatched")
        metrics.requests.labels(route, str(status)).inc()
        metrics.request_latency.labels(route).observe(time.perf_counter() - started)
        metrics.queue_depth.set(gate.waiting)
        metrics.active_generations.set(gate.running)


def create_app(service: ChatService, settings: ServerSettings | None = None) -> FastAPI:
    """The Parley HTTP app around a ready `service`."""
    settings = settings or ServerSettings()
    state = ServerState(service, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.knowledge.close()
        service.close()

    app = FastAPI(title="Parley", version="0.1.0", lifespan=lifespan)
    app.state.parley = state

    app.add_middleware(LimitsAndMetrics, state=state)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        codes = {
            401: "invalid_api_key",
            403: "permission_denied",
            404: "not_found",
            405: "method_not_allowed",
            413: "request_too_large",
            415: "unsupported_media_type",
        }
        return error_response(
            exc.status_code,
            str(exc.detail),
            codes.get(exc.status_code),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems, params = [], []
        for error in exc.errors():
            where = field_path(error["loc"]) or "body"
            params.append(where)
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}")
        # The OpenAI API answers 400 (clients raise BadRequestError); 422 elsewhere.
        status = 400 if request.url.path.startswith("/v1/") else 422
        return error_response(status, "; ".join(problems), "invalid_value", param=params[0])

    @app.exception_handler(BodyTooLarge)
    async def too_large(_: Request, exc: BodyTooLarge) -> Response:
        return error_response(413, str(exc), "request_too_large")

    @app.exception_handler(Overloaded)
    async def overloaded(_: Request, exc: Overloaded) -> Response:
        return error_response(
            429, str(exc), "rate_limit_exceeded", {"Retry-After": str(exc.retry_after)}
        )

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> Response:
        # `code` and `param` where the router knows more than the service's `kind`.
        code, param = getattr(exc, "code", exc.kind), getattr(exc, "param", None)
        return error_response(STATUS_OF_KIND[exc.kind], str(exc), code, param=param)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, f"internal error: {type(exc).__name__}")

    for module in (system, sagemaker, openai_routes, sessions, knowledge, ui):
        app.include_router(module.router)
    if settings.engine_api:
        from parley.server.routes import completions

        app.include_router(completions.router)
    return app
