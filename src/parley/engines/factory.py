"""Building a chat engine from settings: the one place that picks and loads an engine."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from parley.engines.base import ChatEngine, EngineError
from parley.engines.llamacpp_engine import llama_cpp_available
from parley.engines.sources import ModelSource, resolve_source

if TYPE_CHECKING:
    from parley.config import ModelSettings

log = logging.getLogger("parley")

TRANSFORMERS = "transformers"
LLAMA_CPP = "llama.cpp"
LLAMA_SERVER = "llama-server"
OPENAI = "openai"

# name -> "module:Class"; imported on use so that a llama.cpp process never loads torch.
ENGINES: dict[str, str] = {
    TRANSFORMERS: "parley.engines.transformers_engine:TransformersEngine",
    LLAMA_CPP: "parley.engines.llamacpp_engine:LlamaCppEngine",
    LLAMA_SERVER: "parley.engines.llama_server:LlamaServerEngine",
    OPENAI: "parley.engines.openai_engine:OpenAIEngine",
}


def engine_class(name: str) -> type[ChatEngine]:
    """The engine class registered as `name`."""
    try:
        module, _, attribute = ENGINES[name].partition(":")
    except KeyError:
        raise EngineError(f"unknown engine {name!r}; choose auto, {', '.join(ENGINES)}") from None
    return getattr(importlib.import_module(module), attribute)


def choose_engine(requested: str, source: ModelSource, *, concurrent: bool = False) -> str:
    """The engine to use. `auto` for a GGUF file: llama.cpp's own server when requests come
    concurrently (`parley serve`) and set-up built it, else llama.cpp in-process when it is
    installed (it measured faster for one user at a time), else transformers."""
    if requested not in ("auto", *ENGINES):
        raise EngineError(f"unknown engine {requested!r}; choose auto, {', '.join(ENGINES)}")
    if requested in (TRANSFORMERS, OPENAI):
        return requested
    if requested == LLAMA_SERVER:
        if not source.is_gguf:
            raise EngineError(
                f"the llama-server engine needs a .gguf model, got {source.spec!r}; "
                "use engine 'transformers' or 'auto'"
            )
        return requested
    if not source.is_gguf:
        if requested == LLAMA_CPP:
            raise EngineError(
                f"the llama.cpp engine needs a .gguf model, got {source.spec!r}; "
                "use engine 'transformers' or 'auto'"
            )
        return TRANSFORMERS
    if requested == "auto" and concurrent:
        from parley.engines.llama_server import find_llama_server

        if find_llama_server(None) is not None:
            return LLAMA_SERVER
        log.info("llama-server was not built (see scripts/setup.sh): serving GGUF in-process")
    if llama_cpp_available():
        return LLAMA_CPP
    log.warning(
        "llama-cpp-python is not installed; running %s on transformers instead "
        "(install it with `pip install parley[llama-cpp]` for faster CPU generation)",
        source.path.name if source.path else source.spec,
    )
    return TRANSFORMERS


def build_engine(
    settings: ModelSettings, data_dir: Path | None = None, *, concurrent: bool = False
) -> ChatEngine:
    """Resolve the model source and load it on the chosen engine.

    `concurrent`: the engine will serve many users at once (the HTTP server)."""
    if settings.engine == OPENAI:
        return engine_class(OPENAI).from_settings(settings)  # type: ignore[attr-defined,no-any-return]
    source = resolve_source(settings.source)
    name = choose_engine(settings.engine, source, concurrent=concurrent)
    cls = engine_class(name)
    if name == TRANSFORMERS:
        cache = data_dir / "models" if data_dir is not None else None
        return cls(source, settings, cache_dir=cache)  # type: ignore[call-arg]
    if name == LLAMA_SERVER:
        return cls.from_settings(settings, data_dir=data_dir)  # type: ignore[attr-defined,no-any-return]
    return cls(source, settings)  # type: ignore[call-arg]
