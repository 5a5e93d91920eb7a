"""Building a chat engine from settings: the one place that picks and loads an engine."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from parley.engines.base import ChatEngine, EngineError
from parley.engines.llamacpp_engine import LlamaCppEngine, llama_cpp_available
from parley.engines.sources import ModelSource, resolve_source
from parley.engines.transformers_engine import TransformersEngine

if TYPE_CHECKING:
    from parley.config import ModelSettings

log = logging.getLogger("parley")

ENGINES: dict[str, type[ChatEngine]] = {
    TransformersEngine.name: TransformersEngine,
    LlamaCppEngine.name: LlamaCppEngine,
}


def choose_engine(requested: str, source: ModelSource) -> str:
    """The engine to use: `auto` is llama.cpp for GGUF files when it is installed."""
    if requested not in ("auto", *ENGINES):
        raise EngineError(f"unknown engine {requested!r}; choose auto, {', '.join(ENGINES)}")
    if requested == "transformers":
        return requested
    if not source.is_gguf:
        if requested == LlamaCppEngine.name:
            raise EngineError(
                f"the llama.cpp engine needs a .gguf model, got {source.spec!r}; "
                "use engine 'transformers' or 'auto'"
            )
        return TransformersEngine.name
    if llama_cpp_available():
        return LlamaCppEngine.name
    log.warning(
        "llama-cpp-python is not installed; running %s on transformers instead "
        "(install it with `pip install parley[llama-cpp]` for faster CPU generation)",
        source.path.name if source.path else source.spec,
    )
    return TransformersEngine.name


def build_engine(settings: ModelSettings, data_dir: Path | None = None) -> ChatEngine:
    """Resolve the model source and load it on the chosen engine."""
    source = resolve_source(settings.source)
    name = choose_engine(settings.engine, source)
    if name == TransformersEngine.name:
        cache = data_dir / "models" if data_dir is not None else None
        return TransformersEngine(source, settings, cache_dir=cache)
    return LlamaCppEngine(source, settings)
