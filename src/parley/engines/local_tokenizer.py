"""A model's tokenizer and chat template without its weights, for engines that run elsewhere.

The `openai` engine counts tokens with the server's `/tokenize` when it has one; otherwise
with the tokenizer of `model.source` read here: a GGUF's vocabulary (llama-cpp-python,
vocabulary only) or a Hugging Face tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from parley.engines.base import EngineError
from parley.engines.sources import ModelSource


class LocalTokenizer(Protocol):
    chat_template: str | None

    def count_tokens(self, text: str) -> int: ...

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str: ...


class GgufTokenizer:
    """A GGUF file's vocabulary and chat template (no weights are loaded)."""

    def __init__(self, source: ModelSource) -> None:
        from llama_cpp import Llama
        from llama_cpp._utils import suppress_stdout_stderr
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        assert source.path is not None
        with suppress_stdout_stderr(disable=False):
            self.vocab = Llama(str(source.path), vocab_only=True, verbose=False)
        metadata = self.vocab.metadata
        self.chat_template: str | None = metadata.get("tokenizer.chat_template")
        self._formatter: Any = None
        if self.chat_template:
            self._formatter = Jinja2ChatFormatter(
                self.chat_template,
                eos_token=self._token_text(self.vocab.token_eos()),
                bos_token=self._token_text(self.vocab.token_bos()),
            )

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self.vocab.detokenize([token], special=True).decode("utf-8", errors="ignore")

    def count_tokens(self, text: str) -> int:
        return len(self.vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        if self._formatter is None:
            raise EngineError("the model's GGUF has no chat template")
        return str(self._formatter(messages=list(messages)).prompt)


class HuggingFaceTokenizer:
    """A Hugging Face tokenizer from a local folder (or the hub cache)."""

    def __init__(self, source: ModelSource) -> None:
        from transformers import AutoTokenizer

        location = str(source.path) if source.path is not None else source.spec
        self.tokenizer = AutoTokenizer.from_pretrained(location)
        self.chat_template = getattr(self.tokenizer, "chat_template", None)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        return str(
            self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            )
        )


def load_local_tokenizer(source: ModelSource) -> LocalTokenizer:
    """The tokenizer of `source`, read without its weights."""
    if source.is_gguf:
        return GgufTokenizer(source)
    return HuggingFaceTokenizer(source)
