"""BM25 keyword search over the text table (bm25s, English stemming and stop words).

Filters are a weight mask inside bm25s' scoring, so they apply before the top-k cut.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

IDS_FILE = "ids.npy"


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


class KeywordIndex:
    """BM25 over chunk texts; positions in bm25s map to text-table ids through `ids`."""

    def __init__(self, model: Any, ids: np.ndarray) -> None:
        self.model = model
        self.ids = ids
        self._stem = _stemmer()

    @classmethod
    def build(cls, ids: list[int], texts: list[str]) -> KeywordIndex:
        import bm25s

        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False)
        model = bm25s.BM25()
        model.index(tokens, show_progress=False)
        return cls(model, np.asarray(ids, dtype=np.int64))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save(str(folder), show_progress=False)
        np.save(folder / IDS_FILE, self.ids)

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> KeywordIndex:
        import bm25s

        model = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
        return cls(model, np.load(folder / IDS_FILE, mmap_mode="r" if mmap else None))

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(id, score) of the best `k` chunks with a positive score, best first."""
        import bm25s

        if len(self.ids) == 0:
            return []
        tokens = bm25s.tokenize(
            [query], stopwords="en", stemmer=self._stem, show_progress=False, return_ids=False
        )
        vocab = self.model.vocab_dict
        known = [[t for t in tokens[0] if t in vocab]]
        if not known[0]:
            return []
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=np.float32)
            where = np.searchsorted(self.ids, allowed)
            inside = where < len(self.ids)
            where, wanted = where[inside], allowed[inside]
            where = where[self.ids[where] == wanted]
            mask[where] = 1.0
            if not mask.any():
                return []
        k = min(k, len(self.ids))
        found, scores = self.model.retrieve(
            known, k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [
            (int(self.ids[pos]), float(score))
            for pos, score in zip(found[0], scores[0], strict=True)
            if score > 0
        ]


def describe(folder: Path) -> dict[str, object]:
    """Saved BM25 parameters, for `parley index info`."""
    params = folder / "params.index.json"
    return json.loads(params.read_text()) if params.exists() else {}
