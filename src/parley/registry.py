"""One shape for swappable components: a name -> a lazily imported class with `from_settings`.

Engines, prompt formats, moderators, retrievers and session stores are each a `Registry`;
every class in one is built by `Class.from_settings(settings, *, shared)`, where `shared`
holds what components share (the data folder, loaded embedders, ...). Nothing is imported
until a name is used, so choosing SQLite never imports psycopg and llama.cpp never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from parley.engines.base import ChatEngine
    from parley.protocols import TextEmbedder

S_contra = TypeVar("S_contra", contravariant=True)
T_co = TypeVar("T_co", covariant=True)
S = TypeVar("S")
T = TypeVar("T")


class EmbedderCache:
    """Loads each embedder model once, so retrieval, moderation and the guard share it."""

    def __init__(self, batch_size: int | None = None) -> None:
        self.batch_size = batch_size
        self._loaded: dict[str, TextEmbedder] = {}

    def get(self, model: str) -> TextEmbedder:
        """The embedder for `model`, loaded on first use."""
        if model not in self._loaded:
            from parley.retrieval.embedder import Embedder

            embedder = (
                Embedder(model, batch_size=self.batch_size) if self.batch_size else Embedder(model)
            )
            self._loaded[model] = embedder
        return self._loaded[model]

    def put(self, embedder: TextEmbedder) -> None:
        """Use an already loaded embedder for its model."""
        self._loaded[embedder.model_id] = embedder


@dataclass
class Shared:
    """What components built from settings share."""

    data_dir: Path | None = None
    """Where indexes, trained heads, model caches and session databases live."""
    embedders: EmbedderCache = field(default_factory=EmbedderCache)
    progress: bool = True
    """Show progress bars for slow first-use work (building an index, training a head)."""
    engine: ChatEngine | None = None
    """The chat engine, for components that render for it (prompt formats)."""
    clock: Callable[[], datetime] | None = None
    """Session stores' clock (tests move time); None is the wall clock."""

    def folder(self, name: str) -> Path:
        """`<data_dir>/<name>`; an error when no data folder was given."""
        if self.data_dir is None:
            raise ValueError(f"no data folder configured for {name!r}")
        return Path(self.data_dir).expanduser() / name


class FromSettings(Protocol[S_contra, T_co]):
    """A class (or anything) that builds a component from its settings."""

    def from_settings(self, settings: S_contra, /, *, shared: Shared) -> T_co: ...


class UnknownName(ValueError):
    """A configured name that no registry entry has."""


class Registry(Generic[S, T]):
    """Names of one kind of component -> `"module:Class"`, imported on use."""

    def __init__(
        self,
        kind: str,
        entries: Mapping[str, str],
        *,
        error: Callable[[str], Exception] = UnknownName,
    ) -> None:
        self.kind = kind
        self.entries = dict(entries)
        self.error = error

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self.entries)

    def register(self, name: str, target: str) -> None:
        """Add (or replace) `name` -> `"module:Class"`."""
        self.entries[name] = target

    def resolve(self, name: str) -> FromSettings[S, T]:
        """The class registered as `name`, imported now."""
        try:
            module, _, attribute = self.entries[name].partition(":")
        except KeyError:
            known = ", ".join(self.entries)
            raise self.error(f"unknown {self.kind} {name!r}; choose one of: {known}") from None
        target: FromSettings[S, T] = getattr(importlib.import_module(module), attribute)
        return target

    def build(self, name: str, settings: S, shared: Shared) -> T:
        """`Class.from_settings(settings, shared=shared)` for the class named `name`."""
        return self.resolve(name).from_settings(settings, shared=shared)
