"""The embedder's bfloat16 mode stores its weights in bfloat16 and agrees with float32."""

from __future__ import annotations

import numpy as np
import torch

from parley.retrieval.embedder import Embedder

TEXTS = [
    "Paris is the capital of France.",
    "User: how do I kill a python process?",
    "A much longer text about the history of Rome, its emperors, its roads and its fall. " * 4,
]


def test_bfloat16_weights_give_the_float32_vectors():
    float32 = Embedder(precision="float32")
    bfloat16 = Embedder(precision="bfloat16")
    assert next(bfloat16.model.parameters()).dtype == torch.bfloat16
    assert next(float32.model.parameters()).dtype == torch.float32
    for texts in (TEXTS[:1], TEXTS):  # one text (a query, a moderated message) and a batch
        ours, reference = bfloat16.embed(texts), float32.embed(texts)
        assert ours.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        assert (ours * reference).sum(axis=1).min() > 0.999
