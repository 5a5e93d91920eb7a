"""The `classifier` moderator (the embedded default): the embedder plus a trained linear head
(see `training` for the head)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from parley.moderation.base import ModerationResult, Role
from parley.moderation.data import (
    load_examples,
    load_shipped,
    role_text,
    shipped_part_paths,
    split,
)
from parley.moderation.normalize import normalize
from parley.moderation.training import Head, load_or_train
from parley.protocols import TextEmbedder

if TYPE_CHECKING:
    from parley.moderation.settings import ModerationSettings
    from parley.registry import Shared


def heads_dir(data_dir: Path) -> Path:
    """Where trained heads are cached."""
    return Path(data_dir).expanduser() / "moderation"


class ClassifierModerator:
    """Normalises the text (see `normalize`), embeds it and applies the head. One head serves
    both directions: a bot reply is seen as `Bot: <reply>`, as bot replies are written in the
    labelled data."""

    name: ClassVar[str] = "classifier"

    def __init__(self, embedder: TextEmbedder, head: Head, manifest: dict[str, Any] | None = None):
        self.embedder = embedder
        self.head = head
        self.manifest = manifest or {}

    @classmethod
    def from_settings(cls, settings: ModerationSettings, *, shared: Shared) -> ClassifierModerator:
        """Load the cached head for the configured data and embedder, training it on first use.

        The shipped set comes as train and dev parts; a configured `training_data` file is
        scored on `dev_data`, or split into both."""
        embedder = shared.embedders.get(settings.embedder)
        if settings.training_data is None:
            source = shipped_part_paths("train")[0]
            train, dev = load_shipped("train"), load_shipped("dev")
        else:
            source = settings.training_data
            if settings.dev_data is None:
                train, dev = split(load_examples(source))
            else:
                train, dev = load_examples(source), load_examples(settings.dev_data)
        head, manifest = load_or_train(
            train,
            dev,
            embedder,
            shared.folder("moderation"),
            source=str(source),
            progress=shared.progress,
        )
        return cls(embedder, head, manifest)

    def moderate(self, text: str, role: Role = "user") -> ModerationResult:
        return self.moderate_many([text], role)[0]

    def moderate_many(self, texts: Sequence[str], role: Role = "user") -> list[ModerationResult]:
        if not texts:
            return []
        texts = [normalize(role_text(text, role)) for text in texts]
        probs = self.head.probabilities(self.embedder.embed(texts), texts)
        return [
            ModerationResult.from_scores(
                {lb: float(p) for lb, p in zip(self.head.labels, row, strict=True)}
            )
            for row in probs
        ]
