"""What crosses a seam between components, as Protocols (no implementation imported here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np


class TextEmbedder(Protocol):
    """Turns texts into unit vectors (`parley.retrieval.embedder.Embedder` is one)."""

    model_id: str
    dimension: int

    def embed(
        self, texts: Sequence[str], *, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """A float32 array of shape (len(texts), dimension), each row of unit length."""
        ...

    def embed_one(self, text: str) -> np.ndarray:
        """The unit vector of one text, shape (dimension,)."""
        ...
