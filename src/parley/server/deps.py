"""What routes depend on: the shared server state and the API-key check."""

from __future__ import annotations

from fastapi import HTTPException, Request

from parley.server.auth import OWNER_COOKIE, KeyRing, browser_owner
from parley.server.knowledge import ServerKnowledge
from parley.server.limits import GenerationGate, RateLimiter
from parley.server.metrics import Metrics
from parley.server.settings import ServerSettings
from parley.service import ChatService


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
        self.knowledge = ServerKnowledge.for_service(service, settings)


def state_of(request: Request) -> ServerState:
    """The state `create_app` attached to the app."""
    state: ServerState = request.app.state.parley
    return state


def authenticate(request: Request) -> str | None:
    """The owner id of the request's API key, or on an open server of the browser's owner
    cookie (None for clients without one); 401 for a missing or wrong key.

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
    if state.keys.open:  # each browser sees its own sessions; API clients have no cookie
        return browser_owner(request.cookies.get(OWNER_COOKIE))
    return owner
