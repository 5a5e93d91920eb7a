"""The `classifier` moderator (the embedded default): the embedder plus a trained linear head
(see `training` for the head)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from parley.moderation.base import ModerationResult, Role
from parley.moderation.data import load_examples, shipped_data_path
from parley.moderation.training import EmbedderLike, Head, load_or_train

if TYPE_CHECKING:
    from parley.moderation.settings import ModerationSettings


def heads_dir(data_dir: Path) -> Path:
    """Where trained heads are cached."""
    return Path(data_dir).expanduser() / "moderation"


class ClassifierModerator:
    """Embeds the text and applies the head; the role is not used (one head for both)."""

    name: ClassVar[str] = "classifier"

    def __init__(self, embedder: EmbedderLike, head: Head, manifest: dict[str, Any] | None = None):
        self.embedder = embedder
        self.head = head
        self.manifest = manifest or {}

    @classmethod
    def from_settings(
        cls,
        settings: ModerationSettings,
        data_dir: Path,
        *,
        progress: bool = True,
        embedder: EmbedderLike | None = None,
    ) -> ClassifierModerator:
        """Load the cached head for the configured data and embedder, training it on first use."""
        if embedder is None:
            from parley.retrieval.embedder import Embedder

            embedder = Embedder(settings.embedder)
        data = settings.training_data or shipped_data_path()
        examples = load_examples(data)
        head, manifest = load_or_train(
            examples, embedder, heads_dir(data_dir), source=str(data), progress=progress
        )
        return cls(embedder, head, manifest)

    def moderate(self, text: str, role: Role = "user") -> ModerationResult:
        return self.moderate_many([text], role)[0]

    def moderate_many(self, texts: Sequence[str], role: Role = "user") -> list[ModerationResult]:
        if not texts:
            return []
        texts = list(texts)
        probs = self.head.probabilities(self.embedder.embed(texts), texts)
        return [
            ModerationResult.from_scores(
                {lb: float(p) for lb, p in zip(self.head.labels, row, strict=True)}
            )
            for row in probs
        ]
