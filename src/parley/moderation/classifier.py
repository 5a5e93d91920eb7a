"""The `classifier` moderator (the embedded default): an encoder tuned on the labelled set (see
`tuning`) plus a trained linear head (see `training`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from parley.moderation.base import ModerationResult, Role
from parley.moderation.data import (
    Example,
    load_examples,
    load_shipped,
    role_text,
    shipped_part_paths,
    split,
)
from parley.moderation.normalize import normalize
from parley.moderation.training import Head, load_or_train
from parley.moderation.tuning import PACKED_ENCODERS, load_or_tune
from parley.protocols import TextEmbedder

if TYPE_CHECKING:
    from parley.moderation.settings import ModerationSettings
    from parley.registry import Shared
    from parley.retrieval.embedder import Embedder


def training_parts(settings: ModerationSettings) -> tuple[Path, list[Example], list[Example]]:
    """(source, train, dev) of the configured data: the shipped set comes as train and dev
    parts; a configured `training_data` file is scored on `dev_data`, or split into both."""
    if settings.training_data is None:
        return shipped_part_paths("train")[0], load_shipped("train"), load_shipped("dev")
    source = settings.training_data
    if settings.dev_data is None:
        train, dev = split(load_examples(source))
        return source, train, dev
    return source, load_examples(source), load_examples(settings.dev_data)


def tuned_encoder(
    settings: ModerationSettings, shared: Shared, train: Sequence[Example] | None = None
) -> Path:
    """The folder of the encoder tuned for these settings: packed with a deployment
    (`data_dir/moderation-encoders/`), else the machine's cache, else tuned now."""
    if train is None:
        train = training_parts(settings)[1]
    return load_or_tune(
        train,
        settings.embedder,
        packed=shared.folder(PACKED_ENCODERS),
        progress=shared.progress,
    )


def tuned_embedder(
    settings: ModerationSettings, shared: Shared, train: Sequence[Example] | None = None
) -> Embedder:
    """The tuned encoder as an embedder, named by what it is rather than where it lies, so a
    head trained on it is found again wherever the encoder is unpacked."""
    from parley.retrieval.embedder import Embedder

    folder = tuned_encoder(settings, shared, train)
    return Embedder(str(folder), model_id=f"{settings.embedder}+moderation-{folder.name}")


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
        """Load the cached encoder and head for the configured data and embedder, tuning and
        training them on first use."""
        source, train, dev = training_parts(settings)
        embedder: TextEmbedder
        if settings.tune_encoder:
            embedder = tuned_embedder(settings, shared, train)
        else:
            embedder = shared.embedders.get(settings.embedder)
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
