"""Domain guard: keep the bot on its topic (off by default).

A message is out of domain when its similarity to the configured domain description and/or
the best cosine similarity of the passages retrieved for it falls below a threshold; the bot
then answers a polite redirect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from parley.moderation.settings import DomainGuardSettings
from parley.protocols import TextEmbedder


@dataclass(frozen=True)
class GuardDecision:
    """Whether a message is in the bot's domain, with the signals that decided it."""

    in_domain: bool
    similarity: float | None
    """Cosine similarity to the closest description sentence (None when not configured)."""
    retrieval_similarity: float | None
    """The best cosine similarity of the retrieved passages (None when not given)."""
    redirect: str | None = None
    """The polite answer to give instead, when out of domain."""


class DomainGuard:
    """Checks user messages against a domain description and/or retrieval scores."""

    def __init__(self, settings: DomainGuardSettings, embedder: TextEmbedder | None = None):
        self.settings = settings
        self.embedder = embedder
        self._description: np.ndarray | None = None
        if settings.min_similarity is not None and settings.description:
            if embedder is None:
                raise ValueError("the domain guard's description needs an embedder")
            self._description = embedder.embed(settings.description)

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def similarity(self, text: str) -> float:
        """Cosine similarity of `text` to the closest description sentence."""
        if self._description is None or self.embedder is None:
            raise ValueError("the domain guard has no description")
        vector = self.embedder.embed([text])[0]
        return float((self._description @ vector).max())

    def check(self, text: str, retrieval_similarity: float | None = None) -> GuardDecision:
        """Decide for a user message; `retrieval_similarity` is the best cosine similarity of
        the retrieved passages to it (None when retrieval did not run: then no signal). It is
        a similarity whatever the ranking (hybrid search ranks by fused rank scores)."""
        s = self.settings
        if not s.enabled:
            return GuardDecision(True, None, retrieval_similarity)
        similarity = self.similarity(text) if self._description is not None else None
        verdicts = []  # True = this signal says out of domain
        if similarity is not None and s.min_similarity is not None:
            verdicts.append(similarity < s.min_similarity)
        if retrieval_similarity is not None and s.min_retrieval_score is not None:
            verdicts.append(retrieval_similarity < s.min_retrieval_score)
        if not verdicts:
            return GuardDecision(True, similarity, retrieval_similarity)
        out = any(verdicts) if s.combine == "either" else all(verdicts)
        if not out:
            return GuardDecision(True, similarity, retrieval_similarity)
        domain = s.description[0].rstrip(".") if s.description else "this topic"
        redirect = s.redirect.replace("{domain}", domain)
        return GuardDecision(False, similarity, retrieval_similarity, redirect)
