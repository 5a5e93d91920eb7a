"""Streaming output moderation: check the reply as it grows, hold back what is not checked yet.

The server feeds each generated piece to `feed`; it gets back the text that is now safe to
show. Text is released only after the unit it belongs to (a sentence, or N tokens) passed the
policy, so a blocked sentence is never shown: the stream is cut with the refusal instead.
`finish` checks the whole reply once more (context can make harmless parts harmful together).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from parley.moderation.base import Moderator
from parley.moderation.policy import Decision, Policy
from parley.moderation.settings import Action

# A sentence ends at . ! ? or … (optionally followed by closing quotes/brackets) and then
# whitespace, or at a line break.
_SENTENCE_END = re.compile(r"""[.!?…]+["')\]]*\s+|\n+""")


@dataclass(frozen=True)
class StreamStep:
    """What the server does after a piece: show `release`, and stop if `cut`."""

    release: str = ""
    """Newly checked text to send to the user (may be empty while a unit is incomplete)."""
    cut: bool = False
    """True when the reply was blocked: send `refusal` instead of anything more and stop."""
    refusal: str | None = None
    decision: Decision | None = None
    """The decision that cut the stream (or, from `finish`, the final one)."""
    note: str | None = None
    """From `finish`: a caution note to append to the reply, if the policy says so."""


class StreamingChecker:
    """Incremental output moderation for one reply."""

    def __init__(
        self,
        moderator: Moderator,
        policy: Policy,
        *,
        granularity: Literal["sentence", "tokens"] = "sentence",
        every_tokens: int = 24,
    ) -> None:
        self.moderator = moderator
        self.policy = policy
        self.granularity = granularity
        self.every_tokens = every_tokens
        self.text = ""
        """The whole reply so far."""
        self.released = 0
        """Characters of `text` already released to the user."""
        self.checks = 0
        """Moderator calls made so far (for metrics and tests)."""
        self.cut = False

    @classmethod
    def from_settings(cls, moderator: Moderator, policy: Policy) -> StreamingChecker:
        s = policy.settings
        return cls(
            moderator, policy, granularity=s.stream_check, every_tokens=s.stream_every_tokens
        )

    def feed(self, piece: str) -> StreamStep:
        """Add a generated piece; returns the text now safe to show, or a cut."""
        if self.cut:
            return StreamStep(cut=True, refusal=self.policy.refusal())
        self.text += piece
        end = self._checkable_end()
        if end <= self.released:
            return StreamStep()
        return self._check_upto(end)

    def finish(self) -> StreamStep:
        """The reply is complete: check what is left, then the whole reply once more."""
        if self.cut:
            return StreamStep(cut=True, refusal=self.policy.refusal())
        step = self._check_upto(len(self.text)) if len(self.text) > self.released else StreamStep()
        if step.cut:
            return step
        decision = self._decide(self.text)
        if decision.blocked:
            return self._cut(decision)
        note = decision.message if decision.action is Action.CAUTION else None
        return StreamStep(release=step.release, decision=decision, note=note)

    def _checkable_end(self) -> int:
        """End of the last complete unit in `text`."""
        pending = self.text[self.released :]
        if self.granularity == "sentence":
            ends = [m.end() for m in _SENTENCE_END.finditer(pending)]
            return self.released + ends[-1] if ends else self.released
        words = list(re.finditer(r"\S+\s+", pending))
        full = len(words) // self.every_tokens * self.every_tokens
        return self.released + words[full - 1].end() if full else self.released

    def _check_upto(self, end: int) -> StreamStep:
        # Each new unit is checked on its own (the head sees ~256 tokens at most, so a long
        # prefix would hide the new sentence); the full reply is checked in `finish`.
        chunk = self.text[self.released : end]
        units = [chunk]
        if self.granularity == "sentence":
            cuts = [0] + [m.end() for m in _SENTENCE_END.finditer(chunk)] + [len(chunk)]
            units = [chunk[a:b] for a, b in pairwise(cuts)]
        for unit in (u for u in units if u.strip()):
            decision = self._decide(unit)
            if decision.blocked:
                return self._cut(decision)
        released = chunk
        self.released = end
        return StreamStep(release=released)

    def _decide(self, text: str) -> Decision:
        self.checks += 1
        return self.policy.decide(self.moderator.moderate(text, "bot"), "bot", text)

    def _cut(self, decision: Decision) -> StreamStep:
        self.cut = True
        return StreamStep(cut=True, refusal=decision.message, decision=decision)
