"""The FastAPI application: routers validate, call the service, return a schema."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from parley.server.auth import KeyRing
from parley.server.errors import bounded, error_response
from parley.server.guard import BodyGuard, Rejected
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
        self.auth_failures = RateLimiter(
            settings.auth_failures_per_minute, "failed authentications"
        )
        self.gate = GenerationGate(settings.max_active_generations, settings.max_queued_generations)
        self.metrics = Metrics()
        self.ready = True


def state_of(request: Request) -> ServerState:
    return request.app.state.parley


def authenticate(request: Request) -> str | None:
    """The owner id of the request's API key (None on an open server); 401 otherwise.

    Also applies the per-client rate limit, and the limit on failed authentications per
    client address: past it the address gets 429 before any key is checked (no guessing).
    """
    state = state_of(request)
    address = request.client.host if request.client else "unknown"
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    presented = token.strip() if scheme.lower() == "bearer" else None
    if not state.keys.open:
        state.auth_failures.check(address, take=False)
    try:
        owner = state.keys.owner_of(presented)
    except PermissionError as exc:
        state.auth_failures.check(address)
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    state.rate_limiter.check(owner or address)
    return owner


class ClientGone(Exception):
    """The client disconnected before its reply was ready; the generation was stopped."""


@dataclass
class StreamFailed:
    """The pipeline failed after the stream began: the stream ends with this error."""

    error: ServiceError


async def complete(state: ServerState, chat: ChatRequest, request: Request) -> ChatReply:
    """Run the whole pipeline once a generation slot is free; stop it if the client leaves.

    ClientGone when the client disconnected first (the turn is kept as `cancelled`).
    """
    started, events = await open_stream(state, chat)
    reply: ChatReply | None = None
    failure: ServiceError | None = None
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()  # lands in `events`, whose cleanup closes the pipeline

        group.start_soon(watch)
        # Iterated here, not in a task of its own: the stream has started (and owns its clean-up)
        # before anything can cancel it.
        async for event in events:
            if isinstance(event, Finished):
                reply = event.reply
            elif isinstance(event, StreamFailed):
                failure = event.error
        group.cancel_scope.cancel()
    if failure is not None:
        raise failure
    if reply is None:
        raise ClientGone(f"client left session {started.session_id}")
    return reply


async def open_stream(
    state: ServerState, chat: ChatRequest
) -> tuple[Started, AsyncIterator[ChatEvent | StreamFailed]]:
    """Start the pipeline: its first event (errors here are still HTTP errors) and the rest.

    The sync pipeline is advanced step by step in worker threads; when the client goes away
    the stream is cancelled and closing the pipeline stops the generation.
    """
    ticket = state.gate.admit()
    await ticket.acquire()
    # Counted when the request ends however it ends (done, cancelled or failed).
    chat.on_finish = lambda reply: record_reply(state, reply)
    events = state.service.stream(chat)
    try:
        started = await anyio.to_thread.run_sync(next, events)
    except BaseException:
        ticket.release()
        await anyio.to_thread.run_sync(events.close)
        raise
    assert isinstance(started, Started)

    async def rest() -> AsyncIterator[ChatEvent | StreamFailed]:
        began = time.perf_counter()
        first = True
        try:
            while True:
                # run_sync lets the step in flight finish before a cancellation lands, so
                # `events.close()` below never races a `next` in another thread.
                try:
                    event = await anyio.to_thread.run_sync(next, events, None)
                except ServiceError as exc:
                    # Headers are sent: the stream ends with an error event, never silently.
                    yield StreamFailed(exc)
                    return
                if event is None:
                    return
                if first and isinstance(event, Delta):
                    first = False
                    state.metrics.time_to_first_token.observe(time.perf_counter() - began)
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
    from parley.server.routes import openai_routes, sagemaker, sessions, system, ui

    settings = settings or ServerSettings()
    state = ServerState(service, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(title="Parley", version="0.1.0", lifespan=lifespan)
    app.state.parley = state

    # Outermost first: metrics see every answer, the guard's refusals included.
    app.add_middleware(
        BodyGuard, max_body_bytes=settings.max_body_bytes, body_timeout_s=settings.body_timeout_s
    )
    app.add_middleware(LimitsAndMetrics, state=state)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kinds = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(app, request)
        return error_response(
            exc.status_code,
            str(exc.detail),
            kinds.get(exc.status_code, "invalid_request"),
            headers or None,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p)[:40] for p in error["loc"] if p != "body") or "body"
            problems.append(f"{where}: {bounded(error['msg'], 200)}")
        if len(exc.errors()) > 5:
            problems.append(f"and {len(exc.errors()) - 5} more problems")
        return error_response(422, "; ".join(problems), "invalid_request")

    @app.exception_handler(Rejected)
    async def rejected(_: Request, exc: Rejected) -> Response:
        return error_response(exc.status, str(exc), exc.kind)

    @app.exception_handler(ClientGone)
    async def client_gone(_: Request, exc: ClientGone) -> Response:
        # Nobody reads it; 499 is what proxies log for a client that closed the request.
        return error_response(499, str(exc), "client_closed_request")

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
    return app
