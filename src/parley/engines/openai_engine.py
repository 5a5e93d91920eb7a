"""The `openai` engine: Parley's pipeline in front of any OpenAI-compatible server.

The prompt Parley built (its format, history and retrieved context) goes to `/v1/completions`
as it is, so formats stay exact; chat-template prompts are rendered by the server's own
template where it offers one (llama.cpp's `/apply-template`, vLLM's `/tokenize` with
messages), else by the local tokenizer of `model.source`. Tokens are counted by the server's
`/tokenize` when it has one. Closing a stream closes the HTTP stream, which stops the server.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

from parley.engines.base import (
    ChatEngine,
    EngineError,
    EngineUnavailable,
    TokenPiece,
    UnsupportedRequest,
)
from parley.engines.params import GenerationParams
from parley.engines.sources import ModelSource, SourceKind, resolve_source
from parley.engines.upstream import ServerInfo, UpstreamClient

if TYPE_CHECKING:
    from parley.engines.local_tokenizer import LocalTokenizer
    from parley.engines.settings import ModelSettings
    from parley.registry import Shared

log = logging.getLogger("parley")

# Servers known to take llama.cpp's / vLLM's sampling extras beside OpenAI's fields.
TAKES_TOP_K = {"llama.cpp", "vllm", "parley"}
OPENAI_MAX_STOPS = 4
SERVER_TEMPLATE = "(the server's own chat template)"


class OpenAIEngine(ChatEngine):
    """A model served by an OpenAI-compatible server that Parley does not manage."""

    name = "openai"

    @classmethod
    def from_settings(
        cls, settings: ModelSettings, *, shared: Shared | None = None
    ) -> OpenAIEngine:
        """Connect to `settings.base_url` and find the model, its window and template."""
        if not settings.base_url:
            raise EngineError(
                "engine 'openai' needs model.base_url, e.g. http://127.0.0.1:8000/v1 "
                "(PARLEY_MODEL__BASE_URL)"
            )
        client = UpstreamClient(
            settings.base_url,
            api_key_from(settings),
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries=settings.retries,
        )
        return cls(client, settings)

    def __init__(self, client: UpstreamClient, settings: ModelSettings) -> None:
        self.client = client
        self._local_source = settings.source
        self._local: LocalTokenizer | None = None
        try:
            self.info: ServerInfo = client.discover(settings.remote_model)
        except EngineError:
            client.close()
            raise
        self.model = self.info.model
        self.source = ModelSource(self.model, SourceKind.REMOTE, None)
        window = self.info.context_window
        if settings.context_window and window and settings.context_window > window:
            log.warning(
                "model.context_window=%d is larger than the server's %d; using %d",
                settings.context_window,
                window,
                window,
            )
        window = min(filter(None, (settings.context_window, window)), default=None)
        if window is None:
            client.close()
            raise EngineError(
                f"the server at {client.base_url} does not say its context window; "
                "set model.context_window"
            )
        self.context_window = window
        self._count = functools.lru_cache(maxsize=4096)(self._count_uncached)
        # A Parley upstream renders templates itself when it offers /apply-template.
        self._server_renders = self.info.kind == "llama.cpp" or (
            self.info.kind == "parley"
            and client.apply_template([{"role": "user", "content": "hi"}]) is not None
        )

    # -- tokens and templates -------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return int(self._count(text))

    def _count_uncached(self, text: str) -> int:
        counted = self.client.count_tokens(text, self.model)
        if counted is not None:
            return counted
        return self._local_tokenizer().count_tokens(text)

    def _local_tokenizer(self) -> LocalTokenizer:
        if self._local is None:
            from parley.engines.local_tokenizer import load_local_tokenizer

            log.info(
                "%s has no /tokenize: counting tokens with the tokenizer of model.source=%s",
                self.client.root,
                self._local_source,
            )
            self._local = load_local_tokenizer(resolve_source(self._local_source))
        return self._local

    @property
    def chat_template(self) -> str | None:
        if self.info.chat_template:
            return self.info.chat_template
        if self.info.kind == "vllm" or self._server_renders:
            return SERVER_TEMPLATE
        return self._local_tokenizer().chat_template

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        if self._server_renders:
            prompt = self.client.apply_template(messages)
            if prompt is not None:
                return prompt
        if self.info.kind == "vllm":
            return self._vllm_template(messages)
        return self._local_tokenizer().apply_chat_template(messages)

    def _vllm_template(self, messages: Sequence[dict[str, str]]) -> str:
        tokens = self.client.post_json(
            f"{self.client.root}/tokenize",
            {"model": self.model, "messages": list(messages), "add_generation_prompt": True},
        )
        text = self.client.post_json(
            f"{self.client.root}/detokenize", {"model": self.model, "tokens": tokens["tokens"]}
        )
        return str(text["prompt"])

    # -- generation -------------------------------------------------------------------------

    def check_params(self, params: GenerationParams) -> None:
        if params.logprobs is not None and self.info.kind not in ("llama.cpp", "vllm"):
            raise UnsupportedRequest(
                f"logprobs are not available from this engine's server ({self.info.kind})"
            )
        if params.json_schema is not None and self.info.kind not in ("llama.cpp", "vllm"):
            raise UnsupportedRequest(
                f"JSON output (response_format, tools) is not available from this engine's server "
                f"({self.info.kind})"
            )

    def completion_body(self, prompt: str, params: GenerationParams) -> dict[str, Any]:
        """The `/v1/completions` request for `prompt` with `params`."""
        kind = self.info.kind
        stops = list(params.stop)
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": params.max_new_tokens,
            # temperature 0 is greedy decoding on every OpenAI-compatible server
            "temperature": params.temperature if params.sampling else 0.0,
            "top_p": params.top_p,
            "stop": stops if kind in TAKES_TOP_K else stops[:OPENAI_MAX_STOPS],
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if kind in TAKES_TOP_K or params.top_k:
            body["top_k"] = params.top_k
        if kind == "llama.cpp":
            body["repeat_penalty"] = params.repetition_penalty
            body["min_p"] = 0.0  # as the in-process llama.cpp engine and transformers
            body["cache_prompt"] = True
            if params.json_schema is not None:
                body["json_schema"] = params.json_schema or {"type": "object"}
            if params.logprobs is not None:
                body["n_probs"] = max(1, params.logprobs)
        else:
            if kind in TAKES_TOP_K or params.repetition_penalty != 1.0:
                body["repetition_penalty"] = params.repetition_penalty
            if params.json_schema is not None:
                body["response_format"] = (
                    {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
                    if (schema := params.json_schema)
                    else {"type": "json_object"}
                )
            if params.logprobs is not None:
                body["logprobs"] = max(1, params.logprobs)
        return body

    def stream(self, prompt: str, params: GenerationParams) -> Generator[TokenPiece, None, None]:
        return self.stream_request(self.completion_body(prompt, params))

    def stream_request(self, body: dict[str, Any]) -> Generator[TokenPiece, None, None]:
        """The pieces of one `/v1/completions` request, ending with a finish reason."""
        events = self.client.stream_completion(body)
        try:
            for event in events:
                choices = event.get("choices") or []
                if not choices:
                    continue  # a usage or timings event
                choice = choices[0]
                text = choice.get("text") or ""
                if text:
                    yield TokenPiece(text, logprobs=_logprobs(choice))
                reason = choice.get("finish_reason")
                if reason:
                    yield TokenPiece("", "length" if reason == "length" else "stop")
                    return
            yield TokenPiece("", "stop")
        finally:
            events.close()

    def close(self) -> None:
        self.client.close()


def api_key_from(settings: ModelSettings) -> str | None:
    """`model.api_key`, or the variable `model.api_key_env` names (which must be set)."""
    if settings.api_key_env:
        value = os.environ.get(settings.api_key_env)
        if not value:
            raise EngineError(f"model.api_key_env names {settings.api_key_env}, which is not set")
        return value
    return settings.api_key


def _logprobs(choice: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A piece's token log-probabilities in OpenAI's chat shape, from either server's form."""
    raw = choice.get("logprobs")
    if not raw:
        return None
    if isinstance(raw, dict) and isinstance(raw.get("content"), list):  # llama.cpp
        return [
            {
                "token": item.get("token", ""),
                "logprob": item.get("logprob", 0.0),
                "top_logprobs": [
                    {"token": top.get("token", ""), "logprob": top.get("logprob", 0.0)}
                    for top in item.get("top_logprobs", [])
                ],
            }
            for item in raw["content"]
        ]
    if isinstance(raw, dict) and "tokens" in raw:  # OpenAI completions / vLLM
        tops = raw.get("top_logprobs") or [{}] * len(raw["tokens"])
        return [
            {
                "token": token,
                "logprob": logprob,
                "top_logprobs": [{"token": t, "logprob": lp} for t, lp in (top or {}).items()],
            }
            for token, logprob, top in zip(
                raw["tokens"], raw.get("token_logprobs", []), tops, strict=False
            )
        ]
    raise EngineUnavailable(f"the model server sent logprobs in an unknown shape: {raw!r:.200}")
