"""API keys: stored hashed, checked in constant time; each key is an owner of sessions."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets


def hash_key(key: str) -> str:
    """The stored form of `key`: `sha256:<hex>`."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh random API key."""
    return "pk-" + secrets.token_urlsafe(32)


class KeyRing:
    """The configured keys; `owner_of` maps a presented key to the owner id of its sessions."""

    def __init__(self, configured: list[str]) -> None:
        self._hashes = [k if k.startswith("sha256:") else hash_key(k) for k in configured]

    @property
    def open(self) -> bool:
        """No keys configured: every request is allowed, with no owner."""
        return not self._hashes

    def owner_of(self, presented: str | None) -> str | None:
        """The owner id for a valid key; raises PermissionError for a missing or wrong key."""
        if self.open:
            return None
        if not presented:
            raise PermissionError("missing API key: send 'Authorization: Bearer <key>'")
        digest = hash_key(presented)
        for stored in self._hashes:
            if hmac.compare_digest(stored, digest):
                # The owner id names the key without revealing it.
                return "key-" + stored.removeprefix("sha256:")[:16]
        raise PermissionError("invalid API key")


OWNER_COOKIE = "parley_owner"
"""On an open server, the HttpOnly cookie that gives each browser its own sessions."""
_BROWSER_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def new_browser_token() -> str:
    """A fresh random value for the owner cookie."""
    return secrets.token_urlsafe(32)


def browser_owner(token: str | None) -> str | None:
    """The owner id of a browser's cookie (None without a well-formed one).

    Stored hashed, like API keys, so the sessions table never holds the cookie itself."""
    if not token or not _BROWSER_TOKEN.match(token):
        return None
    return "browser-" + hashlib.sha256(token.encode("ascii")).hexdigest()[:24]


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
