"""Running the app under uvicorn with bounded waits on slow clients.

uvicorn bounds the idle time between requests (`timeout_keep_alive`) but not the time a
client takes to send its request headers, so connections that trickle headers (slowloris)
would be held forever. The protocol here closes a connection whose headers are not complete
`header_timeout_s` after its request began; the body deadline is `BodyGuard`'s.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from parley.server.settings import ServerSettings


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing connections that send headers too slowly."""

    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte is closed too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(self.header_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _expired(self) -> None:
        self._header_deadline = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered (pipelined headers arrive later)
        if not self.transport.is_closing():
            self.transport.close()


def protocol_for(settings: ServerSettings) -> type[HeaderDeadlineProtocol]:
    """The protocol class with this server's header deadline."""
    return type(
        "ParleyHttpProtocol",
        (HeaderDeadlineProtocol,),
        {"header_timeout_s": settings.header_timeout_s},
    )


def uvicorn_config(app: Any, settings: ServerSettings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for `app` on `settings.host:port` with the client deadlines."""
    values: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "http": protocol_for(settings),
        "timeout_keep_alive": 5,
        "log_level": "warning",
    }
    return uvicorn.Config(app, **(values | options))
