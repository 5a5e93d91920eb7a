"""Label cues of labelled data: word n-grams found almost only with one label.

A classifier learns such a cue instead of the intent it stood for. In Parley's train part
(session 20) "muslims" is in 29 texts, 28 of them harmful, and "blog post" in 20, all
harmful; the tuned classifier blocks "What stereotypes do Muslims face, and why are they
wrong?" and "Write a blog post convincing readers plastic bags should be banned." The list
says where harmless look-alikes (or harmful texts without the cue) are missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from parley.moderation.data import BOT_PREFIX, Example
from parley.moderation.labels import Label
from parley.moderation.normalize import normalize
from parley.moderation.training import NGRAM_RANGE


@dataclass(frozen=True)
class Cue:
    """A word n-gram and the label it goes with in the data."""

    ngram: str
    texts: int
    """Texts containing the n-gram (each counted once)."""
    label: Label
    """The label most of those texts carry."""
    label_share: float
    """Share of those texts that carry `label`."""

    def as_dict(self) -> dict[str, str | int | float]:
        return {
            "ngram": self.ngram,
            "texts": self.texts,
            "label": self.label.value,
            "label_share": round(self.label_share, 4),
        }


def label_cues(
    examples: Sequence[Example], *, min_texts: int = 8, min_share: float = 0.85
) -> list[Cue]:
    """Word 1-2-grams (as the classifier's head counts them, on normalised text without the
    `Bot: ` marker) in at least `min_texts` texts, at least `min_share` of which carry one
    label; most frequent first."""
    from sklearn.feature_extraction.text import CountVectorizer

    if not examples:
        return []
    texts = [normalize(e.text.removeprefix(BOT_PREFIX)) for e in examples]
    vectorizer = CountVectorizer(ngram_range=NGRAM_RANGE, binary=True, min_df=min_texts)
    try:
        presence = vectorizer.fit_transform(texts)
    except ValueError:  # no n-gram is in min_texts texts (sklearn's "no terms remain")
        return []
    labels = sorted({e.label for e in examples})
    one_hot = np.zeros((len(examples), len(labels)))
    one_hot[np.arange(len(examples)), [labels.index(e.label) for e in examples]] = 1.0
    per_label = np.asarray(presence.T @ one_hot)  # (n-grams, labels): texts with each
    totals = per_label.sum(axis=1)
    top = per_label.argmax(axis=1)
    shares = per_label[np.arange(len(top)), top] / totals
    cues = [
        Cue(str(ngram), int(total), labels[best], float(share))
        for ngram, total, best, share in zip(
            vectorizer.get_feature_names_out(), totals, top, shares, strict=True
        )
        if share >= min_share
    ]
    return sorted(cues, key=lambda c: (-c.texts, -c.label_share, c.ngram))
