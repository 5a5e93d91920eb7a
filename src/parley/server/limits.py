"""Admission control: per-key rate limits and a bounded queue of generations."""

from __future__ import annotations

import asyncio
import math
import threading
import time


class Overloaded(Exception):
    """Too many requests; `retry_after` says when to try again (seconds)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    """A token bucket per client: `per_minute` requests, refilled continuously."""

    def __init__(self, per_minute: int, what: str = "requests") -> None:
        self.per_minute = per_minute
        self.what = what
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str, take: bool = True) -> None:
        """Take one request from `client`'s bucket (only look when not `take`), or raise
        Overloaded when it is empty."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        rate = self.per_minute / 60.0
        with self._lock:
            if len(self._buckets) > 10_000:
                self._forget_full(now, rate)
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens < 1:
                wait = math.ceil((1 - tokens) / rate)
                self._buckets[client] = (tokens, now)
                raise Overloaded(f"rate limit of {self.per_minute} {self.what} per minute", wait)
            if take:
                self._buckets[client] = (tokens - 1, now)

    def _forget_full(self, now: float, rate: float) -> None:
        # A bucket refilled to the brim is the same as no bucket: memory stays bounded.
        full = [
            client
            for client, (tokens, last) in self._buckets.items()
            if tokens + (now - last) * rate >= self.per_minute
        ]
        for client in full:
            del self._buckets[client]


class GenerationGate:
    """At most `active` generations run and at most `queued` wait; others are refused at once."""

    def __init__(self, active: int, queued: int, retry_after: int = 2) -> None:
        self._slots = asyncio.Semaphore(active)
        self.active_limit = active
        self.queued_limit = queued
        self.retry_after = retry_after
        self.waiting = 0
        self.running = 0

    def admit(self) -> Ticket:
        """A place in the queue, or Overloaded when it is full (checked before any work)."""
        if self.running >= self.active_limit and self.waiting >= self.queued_limit:
            raise Overloaded(
                f"server busy: {self.running} generations running and {self.waiting} waiting; "
                "retry later",
                self.retry_after,
            )
        self.waiting += 1
        return Ticket(self)


class Ticket:
    """A queued generation: `acquire` waits for a slot, `release` gives it back (once)."""

    def __init__(self, gate: GenerationGate) -> None:
        self._gate = gate
        self._state = "queued"

    async def acquire(self) -> None:
        try:
            await self._gate._slots.acquire()
        except BaseException:
            self.release()
            raise
        self._gate.waiting -= 1
        self._gate.running += 1
        self._state = "running"

    def release(self) -> None:
        if self._state == "queued":
            self._gate.waiting -= 1
        elif self._state == "running":
            self._gate.running -= 1
            self._gate._slots.release()
        self._state = "done"

    async def __aenter__(self) -> Ticket:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()
