"""The edge: every request body is read whole within a deadline and a size limit, must be JSON
(whatever type it declares), and must hold only text the session stores can keep.

What this middleware lets through is a UTF-8 JSON body without NUL characters or lone
surrogates, declared as `application/json`, so routes and pydantic never see anything else:

- a body over `server.max_body_bytes` (`server.max_upload_bytes` for a document upload) is 413,
  with or without a content-length (chunked);
- a body not received within `server.body_timeout_s` is 408 (slow clients hold no worker);
- JSON sent with another declared type (curl's `-d` default, SageMaker passing the client's
  type through) is accepted; a body that is not JSON is 415 when declared as something else,
  400 when declared as JSON; `multipart/form-data` (file uploads) passes through untouched,
  and is the only type a document upload takes (415 otherwise);
- NUL characters (PostgreSQL cannot store them) and lone surrogates (not encodable as UTF-8)
  anywhere in the document, keys included, are 400 naming where.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

from parley.server.errors import error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
PASS_THROUGH_TYPES = ("multipart/form-data",)


class Rejected(Exception):
    """The request cannot go on: answer `status` with `message`."""

    def __init__(self, status: int, message: str, kind: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def is_json_type(content_type: str) -> bool:
    """`application/json`, `application/*+json`, `text/json` (parameters ignored)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/json", "text/json") or media.endswith("+json")


def find_bad_text(value: Any, where: str = "body") -> str | None:
    """Where in a decoded JSON document a string holds NUL or a lone surrogate, and what."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                return f"{path}: {problem}"
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = _text_problem(key)
                if problem:
                    return f"{path}: a key {problem}"
                stack.append((child, f"{path}.{key}" if len(key) <= 40 else f"{path}.{key[:40]}…"))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{index}]") for index, child in enumerate(item))
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode text"
    return None


def check_json_body(body: bytes, content_type: str) -> None:
    """Rejected unless `body` is a JSON document of storable text."""
    declared_json = is_json_type(content_type)
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        if not declared_json:
            shown = content_type.split(";", 1)[0].strip()[:60] or "no content type"
            raise Rejected(
                415,
                f"the body must be JSON (send it as application/json); got {shown} that is "
                "not a JSON document",
                "unsupported_media_type",
            ) from None
        where = (
            f" at line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        if isinstance(exc, RecursionError):
            reason = "nested too deeply"
        raise Rejected(
            400, f"the body is not valid JSON{where}: {reason}", "invalid_request"
        ) from None
    problem = find_bad_text(document)
    if problem:
        raise Rejected(400, problem, "invalid_request")


class BodyGuard:
    """Pure ASGI middleware applying the module's rules before any route runs."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_timeout_s: float,
        max_upload_bytes: int | None = None,
        is_upload: Callable[[Scope], bool] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        # Document uploads have their own, larger cap; everything else the body cap.
        self.max_upload_bytes = max_upload_bytes or max_body_bytes
        self.is_upload = is_upload or (lambda _: False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        upload = self.is_upload(scope)
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        try:
            self._check_length(headers.get(b"content-length"), limit)
            if content_type.lower().startswith(PASS_THROUGH_TYPES):
                await self.app(scope, self._limited(receive, limit), send)
                return
            if upload:
                raise Rejected(
                    415,
                    "send the documents as multipart/form-data, in the form field 'files'",
                    "unsupported_media_type",
                )
            body = await self._read(receive, limit)
            if body:
                check_json_body(body, content_type)
        except Rejected as exc:
            await error_response(exc.status, str(exc), exc.kind)(scope, receive, send)
            return
        if body:
            scope["headers"] = [
                (name, value) for name, value in scope["headers"] if name != b"content-type"
            ] + [(b"content-type", b"application/json")]
        await self.app(scope, _replay(body, receive), send)

    def _check_length(self, length: bytes | None, limit: int) -> None:
        if length is None:
            return
        if not length.isdigit():
            raise Rejected(400, "invalid content-length header", "invalid_request")
        if int(length) > limit:
            raise _too_large(limit)

    async def _read(self, receive: Receive, limit: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self.body_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise Rejected(400, "the client went away while sending", "invalid_request")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:  # chunked bodies carry no content-length
                        raise _too_large(limit)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            raise Rejected(
                408,
                f"the request body did not arrive within {self.body_timeout_s:g} s",
                "request_timeout",
            ) from None

    def _limited(self, receive: Receive, limit: int) -> Receive:
        size = 0

        async def limited() -> Message:
            nonlocal size
            with anyio.fail_after(self.body_timeout_s):
                message = await receive()
            size += len(message.get("body", b""))
            if size > limit:
                raise _too_large(limit)
            return message

        return limited


def _too_large(limit: int) -> Rejected:
    return Rejected(413, f"request body larger than {limit} bytes", "request_too_large")


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then the client's own events (a disconnect ends generation)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
