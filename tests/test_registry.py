"""Every configurable name resolves in its registry, and the cheap ones build for real."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest

from parley.engines.base import EngineError
from parley.engines.factory import ENGINES
from parley.engines.formats import FORMATS, FormatSettings
from parley.engines.settings import ModelSettings
from parley.moderation.base import NullModerator
from parley.moderation.factory import MODERATORS
from parley.moderation.settings import ModerationSettings
from parley.registry import Registry, Shared, UnknownName
from parley.retrieval.retriever import RETRIEVERS
from parley.retrieval.settings import RetrievalSettings, WebSearchSettings
from parley.retrieval.websearch import WebSearchRetriever
from parley.sessions.base import SessionError
from parley.sessions.factory import STORES
from parley.sessions.settings import SessionSettings
from parley.sessions.sqlite_store import SQLiteSessionStore
from tests.conftest import FakeEngine


def choices(model: Any, field: str) -> set[str]:
    """The names a settings field accepts (its Literal), less `auto`."""
    return set(get_args(model.model_fields[field].annotation)) - {"auto"}


@pytest.mark.parametrize(
    ("registry", "model", "field"),
    [
        (ENGINES, ModelSettings, "engine"),
        (FORMATS, ModelSettings, "format"),
        (MODERATORS, ModerationSettings, "moderator"),
        (RETRIEVERS, RetrievalSettings, "retriever"),
        (STORES, SessionSettings, "store"),
    ],
)
def test_every_configurable_name_resolves_to_a_builder(
    registry: Registry[Any, Any], model: Any, field: str
) -> None:
    assert set(registry.names()) == choices(model, field)
    for name in registry.names():
        assert callable(registry.resolve(name).from_settings), name


def test_unknown_names_say_what_is_known() -> None:
    with pytest.raises(EngineError, match="unknown engine 'vllm'; choose one of: transformers"):
        ENGINES.resolve("vllm")
    with pytest.raises(SessionError, match="unknown session store 'redis'"):
        STORES.resolve("redis")
    with pytest.raises(UnknownName, match=r"unknown moderator 'regex'.*classifier, llm, none"):
        MODERATORS.resolve("regex")


def test_the_cheap_components_build(tmp_path: Path) -> None:
    engine = FakeEngine()
    shared = Shared(data_dir=tmp_path, progress=False, engine=engine)
    for name in FORMATS:
        assert FORMATS.build(name, FormatSettings("Be brief."), shared).name == name
    assert isinstance(
        MODERATORS.build("none", ModerationSettings(moderator="none"), shared), NullModerator
    )
    web = RetrievalSettings(
        retriever="web", web=WebSearchSettings(url="http://127.0.0.1:9/?q={query}")
    )
    assert isinstance(RETRIEVERS.build("web", web, shared), WebSearchRetriever)
    store = STORES.build("sqlite", SessionSettings(), shared)
    assert isinstance(store, SQLiteSessionStore) and store.path == tmp_path / "sessions.db"
    store.close()


def test_chat_template_needs_the_engine() -> None:
    with pytest.raises(ValueError, match="needs the engine"):
        FORMATS.build("chat-template", FormatSettings(), Shared())
