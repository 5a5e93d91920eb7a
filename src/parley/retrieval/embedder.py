"""Text embedder: mean pooling over the attention mask of any Hugging Face encoder.

Vectors are unit-normalised, so an inner product is a cosine similarity.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from parley.embedded import EMBEDDED_ASSETS, embedded_path

DEFAULT_EMBEDDER = "all-minilm-l6-v2"

Precision = Literal["auto", "float32", "bfloat16"]
SMALL_BATCH = 8
"""Fewer texts than this (a query, a message to moderate) run on `query_threads`."""


def fast_bfloat16_cpu() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX or AVX512-BF16)."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


def resolve_embedder_path(model: str) -> str:
    """An embedded default name, a local folder, or a Hugging Face id (returned as is)."""
    if model in EMBEDDED_ASSETS:
        return str(embedded_path(model))
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    return model


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Runs the block with `threads` intra-op threads, then restores the previous count."""
    previous = torch.get_num_threads()
    if threads is None or threads == previous:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Embedder:
    """Embeds texts into unit vectors, in batches."""

    def __init__(
        self,
        model: str = DEFAULT_EMBEDDER,
        *,
        max_length: int = 256,
        batch_size: int = 32,
        device: str = "cpu",
        precision: Precision = "auto",
        query_threads: int | None = 1,
        model_id: str | None = None,
    ) -> None:
        """`model`: an embedded default name, a folder or a Hugging Face id; `model_id`: the
        name it is known by (heads and indexes record it), `model` by default."""
        self.model_id = model_id or model
        path = resolve_embedder_path(model)
        self.source = path
        """Where the weights were loaded from (a folder or a Hugging Face id)."""
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(device).eval()
        self.device = device
        self.batch_size = batch_size
        model_max = getattr(self.model.config, "max_position_embeddings", max_length)
        self.max_length = min(max_length, model_max)
        self.dimension: int = int(self.model.config.hidden_size)
        if precision == "auto":
            precision = "bfloat16" if device == "cpu" and fast_bfloat16_cpu() else "float32"
        self.precision: Precision = precision
        if precision == "bfloat16":
            # Weights stored in bfloat16 and matrix products run under bfloat16 autocast (norms
            # and pooling stay float32). Measured on 1 core with AVX512-BF16, MiniLM: one
            # sentence 14.5 -> 10 ms (half the weight bytes to read; float32 weights under
            # autocast paid a cast per call, 18 ms), 256 passages on 2 cores 3.5 -> 1.3 s;
            # cosine to float32 vectors >= 0.9999.
            self.model = self.model.to(torch.bfloat16)
        # A query gains little from several threads, and on busy cores (a chat model
        # generating, other jobs) OpenMP threads wait on each other: 2 threads measured
        # 100+ ms per query against 15 ms for one.
        self.query_threads = query_threads
        # Fast tokenizers change their padding/truncation state per call and raise "Already
        # borrowed" when two threads do it at once (a chat query during an upload's ingestion).
        self._tokenizer_lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` for this embedder's tokenizer, without special tokens."""
        with self._tokenizer_lock:
            return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @torch.inference_mode()
    def embed(
        self,
        texts: Sequence[str],
        *,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """A float32 array of shape (len(texts), dimension), each row of unit length.

        `on_batch(n)` is called after each batch with the number of texts embedded, for
        progress bars.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Sorting by length keeps padding per batch small, which is most of the speed-up
        # over embedding in input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        autocast = (
            torch.autocast(device_type=torch.device(self.device).type, dtype=torch.bfloat16)
            if self.precision == "bfloat16"
            else contextlib.nullcontext()
        )
        small = len(texts) < SMALL_BATCH
        with autocast, torch_threads(self.query_threads if small else None):
            self._embed_sorted(texts, order, out, on_batch)
        return out

    def _embed_sorted(
        self,
        texts: Sequence[str],
        order: list[int],
        out: np.ndarray,
        on_batch: Callable[[int], None] | None,
    ) -> None:
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            with self._tokenizer_lock:
                batch = self.tokenizer(
                    [texts[i] for i in index],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
            batch = batch.to(self.device)
            # Pooling and normalisation stay in float32 whatever the matmul precision.
            hidden = self.model(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[index] = pooled.float().cpu().numpy()
            if on_batch is not None:
                on_batch(len(index))

    def embed_one(self, text: str) -> np.ndarray:
        """The unit vector of one text, shape (dimension,)."""
        return self.embed([text])[0]
