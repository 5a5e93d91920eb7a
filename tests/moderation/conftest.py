"""Moderation tests share the session's embedder and the head trained on the shipped set."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.moderation.classifier import ClassifierModerator


@pytest.fixture(scope="session")
def data_dir(moderation_data_dir: Path) -> Path:
    return moderation_data_dir


@pytest.fixture(scope="session")
def classifier(shipped_moderator: ClassifierModerator) -> ClassifierModerator:
    """The default head, trained on the shipped set once per test session (seconds)."""
    return shipped_moderator
