"""A client for OpenAI-compatible servers: discovery, token counting and streamed completions.

It speaks `/v1/models`, `/v1/completions` (server-sent events), and the extras that servers
offer beside the OpenAI API: `/tokenize` (llama.cpp server, vLLM), `/props` and
`/apply-template` (llama.cpp server). Failures become `EngineUnavailable` with the cause; a
request is retried only before its first event, so no text is ever repeated.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from parley.engines.base import EngineUnavailable, UnsupportedRequest

log = logging.getLogger("parley")

RETRYABLE_STATUS = {429, 502, 503, 504}
REFUSED_STATUS = {400, 422}


@dataclass(frozen=True)
class ServerInfo:
    """What discovery found out about the server."""

    kind: str
    """`llama.cpp`, `vllm`, `parley` or `openai` (anything else)."""
    model: str
    context_window: int | None
    chat_template: str | None


class UpstreamClient:
    """One OpenAI-compatible server at `base_url` (the API root, e.g. `http://host:8000/v1`)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 120.0,
        retries: int = 2,
        before_request: Callable[[], None] | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise EngineUnavailable(
                f"model.base_url must start with http:// or https://, got {base_url!r}"
            )
        self.base_url = base if base.endswith("/v1") else f"{base}/v1"
        self.root = self.base_url.removesuffix("/v1")
        self.retries = retries
        self.before_request = before_request
        """Called before every request (the managed server waits for its child's health)."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            trust_env=False,
        )
        self._tokenize_route: str | None = "unknown"

    # -- plain requests ---------------------------------------------------------------------

    def get_json(self, url: str, *, missing_ok: bool = False) -> Any:
        """GET `url` (absolute, or relative to the API root) as JSON; None when 404 and ok."""
        response = self._request("GET", url)
        if missing_ok and response.status_code in (404, 405, 501):
            return None
        return self._json_or_raise(response)

    def post_json(self, url: str, body: dict[str, Any], *, missing_ok: bool = False) -> Any:
        response = self._request("POST", url, json=body)
        if missing_ok and response.status_code in (404, 405, 501):
            return None
        return self._json_or_raise(response)

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        target = url if url.startswith("http") else f"{self.base_url}/{url.lstrip('/')}"
        for attempt in range(self.retries + 1):
            if self.before_request is not None:
                self.before_request()
            try:
                response = self.http.request(method, target, **kwargs)
            except httpx.HTTPError as exc:
                if attempt < self.retries and _retryable(exc):
                    _backoff(attempt)
                    continue
                raise EngineUnavailable(self._describe(exc, target)) from None
            if response.status_code in RETRYABLE_STATUS and attempt < self.retries:
                _backoff(attempt)
                continue
            return response
        raise AssertionError("unreachable")

    def _json_or_raise(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise EngineUnavailable(_status_message(response, response.text))
        try:
            return response.json()
        except ValueError:
            raise EngineUnavailable(
                f"{response.request.url} answered {response.status_code} with a body that is "
                "not JSON; is model.base_url an OpenAI-compatible API root?"
            ) from None

    def _describe(self, exc: httpx.HTTPError, url: str) -> str:
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect to the model server at {url}: {exc or 'refused'}"
        if isinstance(exc, httpx.TimeoutException):
            return f"the model server at {url} did not answer in time ({type(exc).__name__})"
        return f"request to the model server at {url} failed: {type(exc).__name__}: {exc}"

    # -- discovery ----------------------------------------------------------------------------

    def discover(self, model: str | None = None) -> ServerInfo:
        """The served model (the first one unless `model`), its window and template."""
        listing = self.get_json("models")
        entries = listing.get("data") if isinstance(listing, dict) else None
        if not entries:
            raise EngineUnavailable(f"{self.base_url}/models lists no model")
        ids = [str(entry.get("id")) for entry in entries]
        if model is None:
            entry = entries[0]
        elif model in ids:
            entry = entries[ids.index(model)]
        else:
            raise EngineUnavailable(
                f"the server at {self.base_url} serves {', '.join(ids)}, not {model!r}; "
                "fix model.remote_model"
            )
        props = self.get_json(f"{self.root}/props", missing_ok=True)
        owner = str(entry.get("owned_by", ""))
        if isinstance(props, dict) and "default_generation_settings" in props:
            kind = "llama.cpp"
            settings = props.get("default_generation_settings") or {}
            window = settings.get("n_ctx") or props.get("n_ctx")
            template = props.get("chat_template") or None
        else:
            kind = "vllm" if owner == "vllm" else "parley" if owner == "parley" else "openai"
            window = entry.get("max_model_len") or entry.get("context_window")
            template = None
        return ServerInfo(kind, str(entry["id"]), int(window) if window else None, template)

    def count_tokens(self, text: str, model: str) -> int | None:
        """Tokens of `text` by the server's own tokenizer; None when it has no `/tokenize`."""
        if self._tokenize_route is None:
            return None
        body = {
            "content": text,  # llama.cpp server
            "prompt": text,  # vLLM
            "model": model,
            "add_special": False,
            "add_special_tokens": False,
        }
        reply = self.post_json(f"{self.root}/tokenize", body, missing_ok=True)
        if reply is None or not isinstance(reply, dict):
            self._tokenize_route = None
            return None
        if "count" in reply:
            return int(reply["count"])
        tokens = reply.get("tokens")
        if not isinstance(tokens, list):
            self._tokenize_route = None
            return None
        return len(tokens)

    def apply_template(self, messages: Sequence[dict[str, str]]) -> str | None:
        """The prompt for `messages` by the server's template (llama.cpp's /apply-template)."""
        reply = self.post_json(
            f"{self.root}/apply-template", {"messages": list(messages)}, missing_ok=True
        )
        return str(reply["prompt"]) if isinstance(reply, dict) and "prompt" in reply else None

    # -- streamed completions -----------------------------------------------------------------

    def stream_completion(self, body: dict[str, Any]) -> Generator[dict[str, Any], None, None]:
        """POST /v1/completions with `stream: true`; yields each event's JSON.

        Closing the iterator closes the HTTP stream, which makes the server stop generating.
        """
        url = f"{self.base_url}/completions"
        body = {**body, "stream": True}
        received = 0
        for attempt in range(self.retries + 1):
            if self.before_request is not None:
                self.before_request()
            try:
                with self.http.stream("POST", url, json=body) as response:
                    if response.status_code >= 400:
                        text = response.read().decode("utf-8", errors="replace")
                        if response.status_code in RETRYABLE_STATUS and attempt < self.retries:
                            _backoff(attempt)
                            continue
                        if response.status_code in REFUSED_STATUS:
                            # What the request asked (e.g. a JSON schema its grammar cannot
                            # take): the client's to change, not a server that is down.
                            raise UnsupportedRequest(_status_message(response, text))
                        raise EngineUnavailable(_status_message(response, text))
                    for event in _sse_events(response.iter_lines()):
                        received += 1
                        yield event
                    return
            except httpx.HTTPError as exc:
                if received == 0 and attempt < self.retries and _retryable(exc):
                    _backoff(attempt)
                    continue
                cause = self._describe(exc, url)
                if received:
                    cause = f"the reply broke off after {received} pieces: {cause}"
                raise EngineUnavailable(cause) from None

    def close(self) -> None:
        self.http.close()


def _sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError:
            raise EngineUnavailable(
                f"the model server sent an event that is not JSON: {data[:200]}"
            ) from None
        if isinstance(event, dict) and "error" in event:
            error = event["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise EngineUnavailable(f"the model server failed mid-reply: {message}")
        yield event


def _retryable(exc: httpx.HTTPError) -> bool:
    # Errors that show the server went away (a refused or reset connection, a kept-alive one
    # to a server that restarted), not a slow one. Streams retry them only before any token.
    return isinstance(
        exc,
        httpx.ConnectError
        | httpx.ConnectTimeout
        | httpx.RemoteProtocolError
        | httpx.ReadError
        | httpx.WriteError,
    )


def _backoff(attempt: int) -> None:
    time.sleep(min(2.0, 0.2 * 2**attempt))


def _status_message(response: httpx.Response, text: str) -> str:
    detail = text.strip()
    try:
        parsed = json.loads(detail)
        error = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
        detail = error.get("message", detail) if isinstance(error, dict) else str(error)
    except ValueError:
        pass
    return (
        f"the model server answered {response.status_code} to {response.request.method} "
        f"{response.request.url.path}: {detail[:500] or response.reason_phrase}"
    )
