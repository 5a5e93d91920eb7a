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
from starlette.routing import Match

from parley.server.deps import ServerState, authenticate, state_of
from parley.server.errors import STATUS_OF_KIND, bounded, error_response, field_path
from parley.server.guard import BodyGuard, Rejected
from parley.server.knowledge import is_upload
from parley.server.limits import Overloaded
from parley.server.routes import knowledge, openai_routes, sagemaker, sessions, system, ui
from parley.server.settings import ServerSettings
from parley.server.streaming import (
    ClientGone,
    StreamFailed,
    StreamingReply,
    complete,
    open_stream,
    record_reply,
)
from parley.service import ChatService, ServiceError

__all__ = [
    "ClientGone",
    "ServerState",
    "StreamFailed",
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


class LimitsAndMetrics:
    """Pure ASGI middleware: request counts and latency per route.

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
        status = 500

        async def status_send(event: Any) -> None:
            nonlocal status
            if event["type"] == "http.response.start":
                status = event["status"]
            await send(event)

        try:
            await self.app(scope, receive, status_send)
        finally:
            self._record(scope, status, started)

    def _record(self, scope: Any, status: int, started: float) -> None:
        metrics, gate = self.state.metrics, self.state.gate
        route = getattr(scope.get("route"), "path", "unmatched")
        metrics.requests.labels(route, str(status)).inc()
        metrics.request_latency.labels(route).observe(time.perf_counter() - started)
        metrics.queue_depth.set(gate.waiting)
        metrics.active_generations.set(gate.running)


def allowed_methods(app: FastAPI, request: Request) -> str:
    """The methods of every route at the request's path, for a 405's `Allow` header."""
    methods = {
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        for route in app.router.routes
        if route.matches({**request.scope, "method": method})[0] == Match.FULL
    }
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


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

    # Outermost first: metrics see every answer, the guard's refusals included.
    app.add_middleware(
        BodyGuard,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        max_upload_bytes=settings.max_upload_bytes,
        is_upload=is_upload,
    )
    app.add_middleware(LimitsAndMetrics, state=state)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {
            401: "invalid_api_key",
            403: "permission_denied",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            413: "request_too_large",
            415: "unsupported_media_type",
        }
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(app, request)
        return error_response(
            exc.status_code,
            str(exc.detail),
            codes.get(exc.status_code),
            headers or None,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems, params = [], []
        errors = exc.errors()
        for error in errors[:5]:  # never a huge answer to a huge wrong input
            where = bounded(field_path(error["loc"]) or "body", 120)
            params.append(where)
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {bounded(message, 200)}")
        if len(errors) > 5:
            problems.append(f"and {len(errors) - 5} more problems")
        # The OpenAI API answers 400 (clients raise BadRequestError); 422 elsewhere.
        status = 400 if request.url.path.startswith("/v1/") else 422
        return error_response(status, "; ".join(problems), "invalid_value", param=params[0])

    @app.exception_handler(Rejected)
    async def rejected(_: Request, exc: Rejected) -> Response:
        return error_response(exc.status, str(exc), exc.kind)

    @app.exception_handler(ClientGone)
    async def client_gone(_: Request, exc: ClientGone) -> Response:
        # Nobody reads it; 499 is what proxies log for a client that closed the request.
        return error_response(499, str(exc), "client_closed_request")

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
