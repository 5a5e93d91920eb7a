"""The moderator registry: `moderation.moderator` names -> classes built from the settings."""

from __future__ import annotations

from pathlib import Path

from parley.moderation.base import Moderator
from parley.moderation.settings import ModerationSettings
from parley.protocols import TextEmbedder
from parley.registry import EmbedderCache, Registry, Shared

MODERATORS: Registry[ModerationSettings, Moderator] = Registry(
    "moderator",
    {
        "classifier": "parley.moderation.classifier:ClassifierModerator",
        "llm": "parley.moderation.llm:LLMModerator",
        "none": "parley.moderation.base:NullModerator",
    },
)
"""Moderator kind (the `moderation.moderator` setting) -> its class."""


def build_moderator(
    settings: ModerationSettings,
    data_dir: Path,
    *,
    progress: bool = True,
    embedder: TextEmbedder | None = None,
    shared: Shared | None = None,
) -> Moderator:
    """The moderator the settings choose; `data_dir` is where trained heads are cached.

    `embedder` (or `shared`'s embedder cache) lets the caller share one loaded embedder with
    retrieval and the domain guard.
    """
    if shared is None:
        shared = Shared(data_dir=Path(data_dir).expanduser(), progress=progress)
        shared.embedders = EmbedderCache()
    if embedder is not None:
        shared.embedders.put(embedder)
    return MODERATORS.build(settings.moderator, settings, shared)
