"""The chat engine contract: load a model, stream text pieces for a prompt, batch prompts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from parley.engines.params import GenerationParams
from parley.engines.sources import ModelSource

Role = Literal["user", "assistant"]
FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: Role
    text: str


@dataclass(frozen=True)
class TokenPiece:
    """The text of one generated token; the last piece of a stream carries why it ended."""

    text: str
    finish_reason: FinishReason | None = None
    logprobs: list[dict[str, Any]] | None = None
    """When asked for: the piece's tokens with their log-probabilities (OpenAI's shape)."""


class EngineError(RuntimeError):
    """The engine cannot do what was asked; the message says why and what to do."""


class EngineUnavailable(EngineError):
    """The engine cannot answer now: its server is down, timed out, failed or refused.

    The HTTP server answers 503 with this message (the cause); a later request may succeed.
    """


class UnsupportedRequest(EngineError):
    """The request asks for something this engine cannot do (HTTP 400, never ignored)."""


class ChatEngine(ABC):
    """A loaded chat model that turns prompts into streams of text pieces."""

    name: ClassVar[str]
    source: ModelSource
    context_window: int
    """Most tokens of prompt plus reply the model attends to."""

    @abstractmethod
    def count_tokens(self, text: str) -> int:
        """Number of tokens `text` encodes to (no special tokens added)."""

    @property
    @abstractmethod
    def chat_template(self) -> str | None:
        """The model's own chat template, if it has one."""

    @abstractmethod
    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        """Render `messages` with the model's template, ending with the assistant's cue."""

    def check_params(self, params: GenerationParams) -> None:
        """Raise `UnsupportedRequest` when `params` ask for what this engine cannot do."""
        if params.json_schema is not None:
            raise UnsupportedRequest(
                "JSON output (response_format, tools) needs an engine that constrains output "
                "(llama-server, openai in front of llama.cpp or vLLM); this server runs "
                f"{self.name!r}"
            )
        if params.logprobs is not None:
            raise UnsupportedRequest(
                f"logprobs need the llama-server or openai engine; this server runs {self.name!r}"
            )

    @abstractmethod
    def stream(self, prompt: str, params: GenerationParams) -> Generator[TokenPiece, None, None]:
        """Generate from `prompt`, one piece per token, as they are produced.

        Closing the iterator early stops the generation and frees the engine.
        """

    def generate_batch(self, prompts: Sequence[str], params: GenerationParams) -> list[str]:
        """Generate for several prompts at once; engines that batch override this."""
        with ThreadPoolExecutor(max_workers=max(1, len(prompts))) as pool:
            return list(pool.map(lambda p: self._collect(p, params), prompts))

    def _collect(self, prompt: str, params: GenerationParams) -> str:
        return "".join(piece.text for piece in self.stream(prompt, params))

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model (threads, memory)."""
