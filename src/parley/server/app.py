"""The FastAPI application: routers validate, call the service, return a schema."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from parley.server.auth import KeyRing
from parley.server.limits import GenerationGate, Overloaded, RateLimiter
from parley.server.metrics import Metrics
from parley.server.settings import ServerSettings
from parley.service import (
    ChatEvent,
    ChatReply,
    ChatRequest,
    ChatService,
    Delta,
    Finished,
    ServiceError,
    Started,
)

log = logging.getLogger("parley")


class ServerState:
    """What the routes share: the service, limits, keys and metrics."""

    def __init__(self, service: ChatService, settings: ServerSettings) -> None:
        self.service = service
        self.settings = settings
        self.keys = KeyRing(settings.api_keys)
        self.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
        self.gate = GenerationGate(settings.max_active_generations, settings.max_queued_generations)
        self.metrics = Metrics()
        self.ready = True


def state_of(request: Request) -> ServerState:
    return request.app.state.parley


def error_response(status: int, message: str, kind: str, headers: dict[str, str] | None = None):
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": status}},
        status_code=status,
        headers=headers,
    )


def authenticate(request: Request) -> str | None:
    """The owner id of the request's API key (None on an open server); 401 otherwise.

    Also applies the per-client rate limit.
    """
    state = state_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    presented = token.strip() if scheme.lower() == "bearer" else None
    try:
        owner = state.keys.owner_of(presented)
    except PermissionError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    client = owner or (request.client.host if request.client else "unknown")
    state.rate_limiter.check(client)
    return owner


async def complete(state: ServerState, chat: ChatRequest) -> ChatReply:
    """Run the whole pipeline once a generation slot is free."""
    async with state.gate.admit():
        reply = await anyio.to_thread.run_sync(state.service.complete, chat)
    record_reply(state, reply)
    return reply


async def open_stream(
    state: ServerState, chat: ChatRequest
) -> tuple[Started, AsyncIterator[ChatEvent]]:
    """Start the pipeline: its first event (errors here are still HTTP errors) and the rest.

    The sync pipeline is advanced step by step in worker threads; when the client goes away
    the stream is cancelled and closing the pipeline stops the generation.
    """
    ticket = state.gate.admit()
    await ticket.acquire()
    events = state.service.stream(chat)
    try:
        started = await anyio.to_thread.run_sync(next, events)
    except BaseException:
        ticket.release()
        await anyio.to_thread.run_sync(events.close)
        raise
    assert isinstance(started, Started)

    async def rest() -> AsyncIterator[ChatEvent]:
        began = time.perf_counter()
        first = True
        try:
            while True:
                # run_sync lets the step in flight finish before a cancellation lands, so
                # `events.close()` below never races a `next` in another thread.
                event = await anyio.to_thread.run_sync(next, events, None)
                if event is None:
                    return
                if first and isinstance(event, Delta):
                    first = False
                    state.metrics.time_to_first_token.observe(time.perf_counter() - began)
                if isinstance(event, Finished):
                    record_reply(state, event.reply)
                yield event
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(events.close)
                ticket.release()

    return started, rest()


class StreamingReply(StreamingResponse):
    """A streaming response that stops its body as soon as the client disconnects.

    Starlette relies on `send` failing for ASGI >= 2.4, but uvicorn drops writes to a closed
    connection silently, so the generation would run to its end for nobody. Listening for
    `http.disconnect` and cancelling the body closes the pipeline, which stops the model.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async with anyio.create_task_group() as group:

            async def body() -> None:
                await self.stream_response(send)
                group.cancel_scope.cancel()

            group.start_soon(body)
            await self.listen_for_disconnect(receive)
            group.cancel_scope.cancel()


def record_reply(state: ServerState, reply: ChatReply) -> None:
    state.metrics.generated_tokens.inc(reply.completion_tokens)
    state.metrics.prompt_tokens.inc(reply.prompt_tokens)
    for direction, verdict in reply.moderation.items():
        if isinstance(verdict, dict) and "action" in verdict:
            state.metrics.moderation_actions.labels(
                direction, verdict["action"], verdict.get("label", "")
            ).inc()
    if reply.retrieval_seconds is not None:
        state.metrics.retrieval_latency.observe(reply.retrieval_seconds)


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
        limit = self.state.settings.max_body_bytes
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
    from parley.server.routes import openai_routes, sagemaker, sessions, system, ui

    settings = settings or ServerSettings()
    state = ServerState(service, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(title="Parley", version="0.1.0", lifespan=lifespan)
    app.state.parley = state

    app.add_middleware(LimitsAndMetrics, state=state)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        kinds = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        return error_response(
            exc.status_code,
            str(exc.detail),
            kinds.get(exc.status_code, "invalid_request"),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"] if p != "body") or "body"
            problems.append(f"{where}: {error['msg']}")
        return error_response(422, "; ".join(problems), "invalid_request")

    @app.exception_handler(BodyTooLarge)
    async def too_large(_: Request, exc: BodyTooLarge) -> Response:
        return error_response(413, str(exc), "request_too_large")

    @app.exception_handler(Overloaded)
    async def overloaded(_: Request, exc: Overloaded) -> Response:
        return error_response(429, str(exc), "rate_limited", {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> Response:
        return error_response(exc.status, str(exc), exc.kind)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, f"internal error: {type(exc).__name__}", "internal_error")

    for module in (system, sagemaker, openai_routes, sessions, ui):
        app.include_router(module.router)
    if settings.engine_api:
        from parley.server.routes import completions

        app.include_router(completions.router)
    return app
