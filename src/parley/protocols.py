"""What crosses a seam between components, as Protocols (no implementation imported here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np


class TextEmbedder(Protocol):
    """Turns texts into unit vectors (`parley.retrieval.embedder.Embedder` is one)."""

    model_id: str
    dimension: int
    max_length: int
    """Longest input in tokens; longer texts are truncated."""

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` for this embedder's tokenizer, without special tokens."""
        ...

    def embed(
        self, texts: Sequence[str], *, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """A float32 array of shape (len(texts), dimension), each row of unit length."""
        ...

    def embed_one(self, text: str) -> np.ndarray:
        """The unit vector of one text, shape (dimension,)."""
        ...
