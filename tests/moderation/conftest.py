"""Shared, expensive fixtures: the real embedder and a head trained on Parley's own set."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.moderation.classifier import ClassifierModerator
from parley.moderation.settings import ModerationSettings


@pytest.fixture(scope="session")
def embedder():
    from parley.retrieval.embedder import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("parley-data")


@pytest.fixture(scope="session")
def classifier(embedder, data_dir) -> ClassifierModerator:
    """Trains the default head on the shipped set once per test session (seconds)."""
    return ClassifierModerator.from_settings(
        ModerationSettings(), data_dir, progress=False, embedder=embedder
    )
