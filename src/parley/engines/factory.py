"""Building a chat engine from settings: the one place that picks and loads an engine."""

from __future__ import annotations

import logging
from pathlib import Path

from parley.engines.base import ChatEngine, EngineError
from parley.engines.llamacpp_engine import llama_cpp_available
from parley.engines.settings import ModelSettings
from parley.engines.sources import ModelSource, resolve_source
from parley.registry import FromSettings, Registry, Shared

log = logging.getLogger("parley")

TRANSFORMERS = "transformers"
LLAMA_CPP = "llama.cpp"
LLAMA_SERVER = "llama-server"
OPENAI = "openai"

ENGINES: Registry[ModelSettings, ChatEngine] = Registry(
    "engine",
    {
        TRANSFORMERS: "parley.engines.transformers_engine:TransformersEngine",
        LLAMA_CPP: "parley.engines.llamacpp_engine:LlamaCppEngine",
        LLAMA_SERVER: "parley.engines.llama_server:LlamaServerEngine",
        OPENAI: "parley.engines.openai_engine:OpenAIEngine",
    },
    error=EngineError,
)
"""Engine name -> class; imported on use so that a llama.cpp process never loads torch."""


def engine_class(name: str) -> FromSettings[ModelSettings, ChatEngine]:
    """The engine class registered as `name`."""
    return ENGINES.resolve(name)


def choose_engine(requested: str, source: ModelSource) -> str:
    """The engine to use. `auto` for a GGUF file: llama.cpp's own server when set-up built it
    (it measured faster for one user too: 135 against 86 tokens/s for one stream, 0.2 s more to
    start), else llama.cpp in-process when it is installed, else transformers."""
    if requested not in ("auto", *ENGINES):
        choices = ", ".join(ENGINES.names())
        raise EngineError(f"unknown engine {requested!r}; choose auto, {choices}")
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
    if requested == "auto":
        from parley.engines.llama_server import find_llama_server

        if find_llama_server(None) is not None:
            return LLAMA_SERVER
        log.info("llama-server was not built (see scripts/setup.sh): running GGUF in-process")
    if llama_cpp_available():
        return LLAMA_CPP
    log.warning(
        "llama-cpp-python is not installed; running %s on transformers instead "
        "(install it with `pip install parley[llama-cpp]` for faster CPU generation)",
        source.path.name if source.path else source.spec,
    )
    return TRANSFORMERS


def build_engine(
    settings: ModelSettings,
    data_dir: Path | None = None,
    *,
    shared: Shared | None = None,
) -> ChatEngine:
    """Resolve the model source and load it on the chosen engine."""
    shared = shared or Shared(data_dir=data_dir)
    if settings.engine == OPENAI:  # the model is remote: no local source to resolve
        return ENGINES.build(OPENAI, settings, shared)
    name = choose_engine(settings.engine, resolve_source(settings.source))
    return ENGINES.build(name, settings, shared)
