"""Typed settings: `parley.toml`, then `PARLEY_*` environment variables, then CLI flags.

Each layer overrides the one before it. Nested fields use `__` in environment variables,
e.g. `PARLEY_MODEL__ENGINE=llama.cpp` or `PARLEY_GENERATION__TEMPERATURE=0.2`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from parley.engines.params import GenerationParams
from parley.engines.settings import ModelSettings
from parley.moderation.settings import ModerationSettings
from parley.retrieval.settings import RetrievalSettings
from parley.server.settings import ServerSettings
from parley.sessions.settings import SessionSettings

__all__ = [
    "ConfigError",
    "ModelSettings",
    "Settings",
    "find_config_file",
    "format_validation_error",
    "load_settings",
]

DEFAULT_CONFIG_FILE = "parley.toml"


class ConfigError(ValueError):
    """The configuration is invalid; the message says where and how to fix it."""


class Settings(BaseSettings):
    """Everything Parley can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="PARLEY_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
        use_attribute_docstrings=True,
    )

    data_dir: Path = Path("~/.local/share/parley")
    """Where indexes, trained heads and session databases live."""
    threads: int | None = Field(default=None, ge=1, le=1024)
    """Thread budget: CPU threads Parley's chat engine, embedder and moderator use together
    (unset: the cores this process may run on). On up to 4 cores torch (embedder, moderation
    classifier) gets 1 and the engine the rest, so their spinning threads never fight over
    cores; `model.threads` overrides the engine's share."""
    model: ModelSettings = Field(default_factory=ModelSettings)
    """The chat model."""
    generation: GenerationParams = Field(default_factory=GenerationParams)
    """Default generation parameters; requests and CLI flags override them."""
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    """Knowledge base and search."""
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    """Input and output moderation."""
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    """Where conversations are kept."""
    server: ServerSettings = Field(default_factory=ServerSettings)
    """HTTP server, API keys and limits."""

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _CONFIG_FILE_IN_USE.get("path")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


# settings_customise_sources is a classmethod without arguments for the file, so the loader
# passes the chosen path through this module-level slot for the duration of one load.
_CONFIG_FILE_IN_USE: dict[str, Path | None] = {"path": None}


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: an explicit path, `$PARLEY_CONFIG`, or `./parley.toml`."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    env = os.environ.get("PARLEY_CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ConfigError(f"PARLEY_CONFIG points to {path}, which does not exist")
        return path
    local = Path(DEFAULT_CONFIG_FILE)
    return local if local.is_file() else None


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Settings from the config file, the environment and `overrides` (CLI flags), validated.

    `overrides` is a nested dict such as `{"model": {"engine": "llama.cpp"}}`; keys with a
    value of None are ignored so unset CLI flags do not mask the file or the environment.
    """
    path = find_config_file(config_file)
    if path is not None:
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    check_environment_sections(os.environ)
    _CONFIG_FILE_IN_USE["path"] = path
    try:
        return _build(_drop_none(overrides or {}), path)
    finally:
        _CONFIG_FILE_IN_USE["path"] = None


def check_environment_sections(environ: Mapping[str, str]) -> None:
    """Refuse `PARLEY_<SECTION>__<KEY>` variables whose section does not exist.

    pydantic-settings silently ignores them, while a misspelt key inside a known section is
    refused; `PARLEY_MODLE__SOURCE` must not quietly leave the default model in place.
    """
    sections = {
        name
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }
    unknown = sorted(
        name
        for name in environ
        if name.upper().startswith("PARLEY_")
        and "__" in name
        and name[len("PARLEY_") :].split("__")[0].lower() not in sections
    )
    if unknown:
        known = ", ".join(sorted(sections))
        lines = [f"  {name}: unknown section; known sections are {known}" for name in unknown]
        raise ConfigError("invalid configuration (environment):\n" + "\n".join(lines))


def _build(overrides: dict[str, Any], path: Path | None) -> Settings:
    # Nested overrides must merge with the nested values from the file and environment rather
    # than replace the whole section, so build once without them and validate the merge.
    try:
        base = Settings()
        if not overrides:
            return base
        merged = _deep_merge(base.model_dump(), overrides)
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, path)) from None


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            nested = _drop_none(value)
            if nested:
                out[key] = nested
        elif value is not None:
            out[key] = value
    return out


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def format_validation_error(exc: ValidationError, path: Path | None = None) -> str:
    """One line per problem: `where: what is wrong (got VALUE)`."""
    where = f" (from {path}, PARLEY_* environment variables and flags)" if path else ""
    lines = [f"invalid configuration{where}:"]
    for error in exc.errors():
        loc = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting; check the spelling (see `parley config show`)"
        got = error.get("input")
        shown = "" if isinstance(got, dict) or error["type"] == "missing" else f" (got {got!r})"
        lines.append(f"  {loc}: {message}{shown}")
    return "\n".join(lines)
