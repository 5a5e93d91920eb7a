"""The moderator interface and its result (the registry is in `parley.moderation.factory`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from parley.moderation.labels import SEVERITY_ORDER, Label

if TYPE_CHECKING:
    from parley.moderation.settings import ModerationSettings
    from parley.registry import Shared

Role = Literal["user", "bot"]
"""Who wrote the text: the user's message (input) or the bot's reply (output)."""


@dataclass(frozen=True)
class ModerationResult:
    """A label and the probability of each of the five labels (summing to 1)."""

    label: Label
    scores: Mapping[Label, float] = field(default_factory=dict)

    def probability(self, label: Label) -> float:
        """P(label), 0 when the moderator gave no score for it."""
        return float(self.scores.get(label, 0.0))

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form: `{"label": ..., "scores": {label: p}}` in severity order."""
        return {
            "label": self.label.value,
            "scores": {lb.value: round(self.probability(lb), 6) for lb in SEVERITY_ORDER},
        }

    @classmethod
    def from_scores(cls, scores: Mapping[Label, float]) -> ModerationResult:
        """The result whose label is the most probable one (ties go to the more severe)."""
        label = max(scores, key=lambda lb: (scores[lb], lb.severity))
        return cls(label, dict(scores))


class Moderator(Protocol):
    """Labels a text; `role` says whether it is the user's message or the bot's reply."""

    name: ClassVar[str]

    def moderate(self, text: str, role: Role = "user") -> ModerationResult: ...

    def moderate_many(self, texts: Sequence[str], role: Role = "user") -> list[ModerationResult]:
        """Several texts at once (batched where the moderator can)."""
        ...


class NullModerator:
    """`moderator = "none"`: everything is casual."""

    name: ClassVar[str] = "none"

    @classmethod
    def from_settings(cls, settings: ModerationSettings, *, shared: Shared) -> NullModerator:
        return cls()

    def moderate(self, text: str, role: Role = "user") -> ModerationResult:
        return ModerationResult(Label.CASUAL, {lb: float(lb is Label.CASUAL) for lb in Label})

    def moderate_many(self, texts: Sequence[str], role: Role = "user") -> list[ModerationResult]:
        return [self.moderate(text, role) for text in texts]
