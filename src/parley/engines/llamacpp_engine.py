"""The `llama.cpp` engine: GGUF models on the CPU through llama-cpp-python.

One llama.cpp context serves one generation at a time, so concurrent requests take turns; the
context keeps the previous prompt's KV cache, which makes the next turn of a chat cheap.
"""

from __future__ import annotations

import functools
import json
import random
import threading
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

from parley.engines.base import ChatEngine, EngineError, TokenPiece, UnsupportedRequest
from parley.engines.gguf_files import gguf_context_length, gguf_source
from parley.engines.params import GenerationParams
from parley.engines.sources import ModelSource

if TYPE_CHECKING:
    from llama_cpp import LlamaGrammar

    from parley.engines.settings import ModelSettings
    from parley.registry import Shared

DEFAULT_CONTEXT_CAP = 4096  # KV cache is preallocated: 4096 tokens of SmolLM2 take ~95 MB


def llama_cpp_available() -> bool:
    """Whether llama-cpp-python imports (it is an optional extra)."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


class LlamaCppEngine(ChatEngine):
    """llama-cpp-python over a GGUF file."""

    name = "llama.cpp"

    @classmethod
    def from_settings(cls, settings: ModelSettings, *, shared: Shared) -> LlamaCppEngine:
        """Load `settings.source` (a GGUF file or an embedded GGUF default)."""
        return cls(gguf_source(settings), settings)

    def __init__(self, source: ModelSource, settings: ModelSettings) -> None:
        if not source.is_gguf or source.path is None:
            raise EngineError(
                f"the llama.cpp engine needs a .gguf model, got {source.spec!r}; "
                "use engine 'transformers' for Hugging Face models"
            )
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        if settings.device_map or settings.load_in or settings.gpu_memory:
            raise EngineError(
                "device_map, gpu_memory and load_in are transformers options; "
                "the llama.cpp engine runs the GGUF's own quantisation on the CPU"
            )
        self.source = source
        self.context_window = settings.context_window or min(
            gguf_context_length(source.path), DEFAULT_CONTEXT_CAP
        )
        self.llm = Llama(
            str(source.path),
            n_ctx=self.context_window,
            n_threads=settings.threads,
            n_batch=512,
            verbose=False,
        )
        self._lock = threading.Lock()
        self._template = self.llm.metadata.get("tokenizer.chat_template")
        self._formatter = None
        if self._template:
            self._formatter = Jinja2ChatFormatter(
                self._template,
                eos_token=self._token_text(self.llm.token_eos()),
                bos_token=self._token_text(self.llm.token_bos()),
            )

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.llm.detokenize([token], special=True).decode("utf-8", errors="ignore")

    def count_tokens(self, text: str) -> int:
        return len(self._tokenize(text, add_bos=False))

    def _tokenize(self, text: str, add_bos: bool) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    @property
    def chat_template(self) -> str | None:
        return self._template

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        if self._formatter is None:
            raise EngineError(f"model {self.source.spec!r} has no chat template")
        return self._formatter(messages=list(messages)).prompt

    def check_params(self, params: GenerationParams) -> None:
        """JSON output is constrained by llama.cpp's grammar; logprobs are not kept here."""
        if params.json_schema is not None:
            json_grammar(params.json_schema)
        super().check_params(params.model_copy(update={"json_schema": None}))

    def stream(self, prompt: str, params: GenerationParams) -> Generator[TokenPiece, None, None]:
        bos = self._token_text(self.llm.token_bos())
        add_bos = bool(self.llm.metadata.get("tokenizer.ggml.add_bos_token", "true") == "true")
        tokens = self._tokenize(prompt, add_bos=add_bos and not (bos and prompt.startswith(bos)))
        if len(tokens) + params.max_new_tokens > self.context_window:
            raise EngineError(
                f"the prompt has {len(tokens)} tokens; with max_new_tokens={params.max_new_tokens} "
                f"it exceeds the context window of {self.context_window}"
            )
        with self._lock:
            if params.seed is not None:
                # A seed promises the same reply: read the whole prompt afresh. llama.cpp's fast
                # prompt kernels (Q8_0, Q4_0) round differently from its one-token path, so a
                # prompt partly read from the last request's cache gives other last bits.
                self.llm.reset()
            chunks = self.llm.create_completion(
                tokens, stream=True, stop=[], **self._sampling(params, len(tokens))
            )
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    if choice["text"]:
                        yield TokenPiece(choice["text"])
                    if choice.get("finish_reason"):
                        yield TokenPiece(
                            "", "length" if choice["finish_reason"] == "length" else "stop"
                        )
                        return
            finally:
                chunks.close()

    @staticmethod
    def _sampling(params: GenerationParams, prompt_tokens: int) -> dict[str, Any]:
        seed = params.seed if params.seed is not None else random.getrandbits(32)
        extra: dict[str, Any] = {}
        if params.no_repeat_ngram_size:
            from llama_cpp import LogitsProcessorList

            from parley.engines.repetition import NoRepeatNgramLlama

            extra["logits_processor"] = LogitsProcessorList(
                [NoRepeatNgramLlama(prompt_tokens, params.no_repeat_ngram_size)]
            )
        if params.json_schema is not None:
            extra["grammar"] = json_grammar(params.json_schema)
        return {
            **extra,
            "max_tokens": params.max_new_tokens,
            # temperature 0 is llama.cpp's greedy decoding
            "temperature": params.temperature if params.sampling else 0.0,
            "top_k": params.top_k,
            "top_p": params.top_p,
            # transformers has no min_p by default; keep the two engines' sampling alike
            "min_p": 0.0,
            "repeat_penalty": params.repetition_penalty,
            "seed": seed,
        }


def json_grammar(schema: dict[str, Any]) -> LlamaGrammar:
    """llama.cpp's grammar for a JSON schema (`{}`: any object); UnsupportedRequest when the
    schema has none."""
    return _grammar_of(json.dumps(schema or {"type": "object"}, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _grammar_of(schema: str) -> LlamaGrammar:
    from llama_cpp import LlamaGrammar

    try:
        return LlamaGrammar.from_json_schema(schema, verbose=False)
    except Exception as exc:  # the converter raises AssertionError, KeyError, ValueError...
        raise UnsupportedRequest(
            f"response_format / tools: the JSON schema cannot be used: {exc}"
        ) from None
