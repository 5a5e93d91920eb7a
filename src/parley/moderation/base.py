"""The moderator interface, its result, the registry and the factory."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol

from parley.moderation.labels import SEVERITY_ORDER, Label

if TYPE_CHECKING:
    from parley.moderation.settings import ModerationSettings

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
    def from_settings(
        cls, settings: ModerationSettings, data_dir: Path, **_: object
    ) -> NullModerator:
        return cls()

    def moderate(self, text: str, role: Role = "user") -> ModerationResult:
        return ModerationResult(Label.CASUAL, {lb: float(lb is Label.CASUAL) for lb in Label})

    def moderate_many(self, texts: Sequence[str], role: Role = "user") -> list[ModerationResult]:
        return [self.moderate(text, role) for text in texts]


MODERATORS: dict[str, Callable[..., Moderator]] = {}
"""Moderator kind (the `moderation.moderator` setting) -> its `from_settings` constructor."""


def _register_builtin() -> None:
    # Imported here, not at module top, so that `import parley.moderation.base` stays light
    # (the llm moderator pulls in transformers models only when it is built).
    from parley.moderation.classifier import ClassifierModerator
    from parley.moderation.llm import LLMModerator

    MODERATORS.setdefault("classifier", ClassifierModerator.from_settings)
    MODERATORS.setdefault("llm", LLMModerator.from_settings)
    MODERATORS.setdefault("none", NullModerator.from_settings)


def build_moderator(
    settings: ModerationSettings,
    data_dir: Path,
    *,
    progress: bool = True,
    embedder: object | None = None,
) -> Moderator:
    """The moderator the settings choose; `data_dir` is where trained heads are cached.

    `embedder` lets the caller share one loaded embedder with retrieval and the domain guard.
    """
    _register_builtin()
    try:
        factory = MODERATORS[settings.moderator]
    except KeyError:
        known = ", ".join(sorted(MODERATORS))
        raise ValueError(f"unknown moderator {settings.moderator!r}; known: {known}") from None
    extra = {"embedder": embedder} if embedder is not None else {}
    return factory(settings, Path(data_dir).expanduser(), progress=progress, **extra)
