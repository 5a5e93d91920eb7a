"""Streaming output moderation: check the reply as it grows, hold back what is not checked yet.

The server feeds each generated piece to `feed`; it gets back the text that is now safe to
show. Text is released only after the unit it belongs to (a sentence, or N tokens) passed the
policy, so a blocked sentence is never shown: the stream is cut with the refusal instead.
`finish` checks the whole reply once more (context can make harmless parts harmful together)
unless a sentence-by-sentence check found every sentence confidently casual (`recheck_from`).
A unit that would be cut (a heading, a list item, "Dear [Name],", a plain sentence) is judged
again amid the words around it (`context_words`) before the stream is cut: alone it can read as
what it is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from parley.moderation.base import ModerationResult, Moderator
from parley.moderation.labels import Label
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
        min_words: int = 0,
        recheck_from: float = 0.0,
        context_words: int = 0,
        context_max_unit_words: int = 0,
    ) -> None:
        self.moderator = moderator
        self.policy = policy
        self.granularity = granularity
        self.every_tokens = every_tokens
        self.min_words = min_words
        """With sentence granularity: after the first sentence, sentences wait until this many
        words are pending, then are checked (each on its own) in one batch."""
        self.recheck_from = recheck_from
        """With sentence granularity, `finish` checks the whole reply again only when some
        sentence's probability of not being casual reached this, or one was not simply allowed
        (0, the default here: always; the setting's default is 0.05)."""
        self.context_words = context_words
        """With sentence granularity: a unit the policy would cut is judged again with up to
        this many words around it, and cut only if that also blocks (0: no second look)."""
        self.context_max_unit_words = context_max_unit_words
        """Units of more words than this are cut on their own verdict (0: no cap, every unit
        gets the second look in context)."""
        self.text = ""
        """The whole reply so far."""
        self.released = 0
        """Characters of `text` already released to the user."""
        self.checks = 0
        """Moderator calls made so far, a batch of sentences counting once (for tests)."""
        self.cut = False
        self._units_checked = 0
        self._last_decision: Decision | None = None
        self._results: dict[tuple[int, str], ModerationResult] = {}
        """Results by (offset, unit): a unit held back for its context is not checked again."""
        self._most_doubt = 0.0
        """The highest probability of not being casual among the units checked (1.0 once a
        unit was not simply allowed)."""

    @classmethod
    def from_settings(cls, moderator: Moderator, policy: Policy) -> StreamingChecker:
        s = policy.settings
        return cls(
            moderator,
            policy,
            granularity=s.stream_check,
            every_tokens=s.stream_every_tokens,
            min_words=s.stream_min_words,
            recheck_from=s.stream_recheck_from,
            context_words=s.stream_context_words,
            context_max_unit_words=s.stream_context_max_unit_words,
        )

    def feed(self, piece: str) -> StreamStep:
        """Add a generated piece; returns the text now safe to show, or a cut."""
        if self.cut:
            return StreamStep(cut=True, refusal=self.policy.refusal())
        self.text += piece
        return self._check(self._ready_units(final=False), final=False)

    def finish(self) -> StreamStep:
        """The reply is complete: check what is left, then the whole reply once more (unless
        every sentence was confidently casual, see `recheck_from`)."""
        if self.cut:
            return StreamStep(cut=True, refusal=self.policy.refusal())
        step = self._check(self._ready_units(final=True), final=True)
        if step.cut:
            return step
        confident = self.granularity == "sentence" and self._most_doubt < self.recheck_from
        if self._last_decision is not None and (self._units_checked == 1 or confident):
            # One checked unit held all the text (it is all released by now), or every sentence
            # was allowed and confidently casual: no second look. (Token windows cut through
            # sentences, the case the second look is for: they always get it.)
            decision = self._last_decision
        else:
            decision = self._decide(self.text)
        if decision.blocked:
            return self._cut(decision)
        note = decision.message if decision.action is Action.CAUTION else None
        return StreamStep(release=step.release, decision=decision, note=note)

    def _ready_units(self, *, final: bool) -> list[int]:
        """Ends (offsets into the unreleased text) of the units ready to check, in order."""
        pending = self.text[self.released :]
        if self.granularity == "tokens":
            words = list(re.finditer(r"\S+\s+", pending))
            full = len(words) // self.every_tokens * self.every_tokens
            ends = [words[full - 1].end()] if full else []
        else:
            # Each sentence is judged on its own (the head sees ~256 tokens at most, so a long
            # prefix would hide a new sentence, and grouped sentences dilute a harmful one:
            # measured, 16-word groups missed 7% more harmful sentences). The first sentence
            # goes alone, so the reply starts showing soon; later ones wait until `min_words`
            # are pending and are checked in one batch: one pass of the encoder costs about
            # the same for one sentence as for three (reading its weights is most of it).
            ends, ready, start = [], 0, 0
            for match in _SENTENCE_END.finditer(pending):
                ends.append(match.end())
                first = self.released == 0 and len(ends) == 1
                if first or len(pending[start : match.end()].split()) >= self.min_words:
                    ready, start = len(ends), match.end()
            ends = ends[:ready] if not final else ends
        if final and len(pending) > (ends[-1] if ends else 0):
            ends.append(len(pending))
        return ends

    def _check(self, ends: list[int], *, final: bool) -> StreamStep:
        pending = self.text[self.released :]
        spans = [(a, b) for a, b in pairwise([0, *ends]) if pending[a:b].strip()]
        results = self._moderate(
            [self.released + a for a, _ in spans], [pending[a:b] for a, b in spans]
        )
        for (start, end), result in zip(spans, results, strict=True):
            unit = pending[start:end]
            decision = self.policy.decide(result, "bot", unit)
            if decision.blocked and self._gets_context_look(unit):
                in_context = self._in_context(self.released + start, self.released + end, final)
                if in_context is None:  # hold this unit back until its context is written
                    self.released += start
                    return StreamStep(release=pending[:start])
                decision = in_context
            if decision.blocked:
                return self._cut(decision)
            self._units_checked += 1
            self._last_decision = decision
            # A unit the policy did not simply allow (a caution note, or a sentence let through
            # only in its context) always gets the second look, whose decision carries the note.
            doubt = (
                1.0 - result.probability(Label.CASUAL)
                if decision.action is Action.ALLOW and decision.result is result
                else 1.0
            )
            self._most_doubt = max(self._most_doubt, doubt)
        if not ends:
            return StreamStep()
        self.released += ends[-1]
        return StreamStep(release=pending[: ends[-1]])

    def _moderate(self, offsets: list[int], units: list[str]) -> list[ModerationResult]:
        """The units' results, each unit checked once (held-back units come round again)."""
        keys = list(zip(offsets, units, strict=True))
        new = [key for key in keys if key not in self._results]
        if new:
            self.checks += 1
            results = self.moderator.moderate_many([unit for _, unit in new], "bot")
            self._results.update(zip(new, results, strict=True))
        # Only this batch's units can come round again (a held-back unit starts the next one).
        self._results = {key: self._results[key] for key in keys}
        return [self._results[key] for key in keys]

    def _gets_context_look(self, unit: str) -> bool:
        """Whether a unit that would cut is judged again amid its context first."""
        if self.granularity != "sentence" or not self.context_words:
            return False
        cap = self.context_max_unit_words
        return not cap or len(unit.split()) <= cap

    def _in_context(self, start: int, end: int, final: bool) -> Decision | None:
        """The decision on the sentence at text[start:end] amid up to `context_words` words
        around it (those before it first); None while the reply is still too short for them."""
        before = self.text[:start].split()
        after = self.text[end:].split()
        wanted_after = max(0, self.context_words - len(before))
        if len(after) < wanted_after and not final:
            return None
        words = before[max(0, len(before) - self.context_words) :]
        window = " ".join([*words, self.text[start:end].strip(), *after[:wanted_after]])
        return self._decide(window)

    def _decide(self, text: str) -> Decision:
        self.checks += 1
        return self.policy.decide(self.moderator.moderate(text, "bot"), "bot", text)

    def _cut(self, decision: Decision) -> StreamStep:
        self.cut = True
        return StreamStep(cut=True, refusal=decision.message, decision=decision)
