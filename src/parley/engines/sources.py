"""Model sources: where a chat model's weights come from.

A source string is one of: an embedded default name (`smollm2-135m-instruct`), a `.gguf` file,
a local model folder, or a Hugging Face hub id (`org/name`), looked up in the local cache first.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlparse

from parley.embedded import EMBEDDED_ASSETS, embedded_path


class SourceKind(StrEnum):
    GGUF = "gguf"
    FOLDER = "folder"
    HUB = "hub"
    REMOTE = "remote"
    """A model another server runs (the `openai` engine); no local files."""


class ModelSourceError(ValueError):
    """The model source cannot be found or reached; the message says what to do."""


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: what kind it is and where its files are."""

    spec: str
    """The string the user gave."""
    kind: SourceKind
    path: Path | None
    """The GGUF file or model folder; None for a hub id that transformers resolves itself."""

    @property
    def is_gguf(self) -> bool:
        return self.kind is SourceKind.GGUF


def resolve_source(spec: str) -> ModelSource:
    """Resolve a source string, failing fast with a helpful message when it cannot be had."""
    spec = spec.strip()
    if not spec:
        raise ModelSourceError("the model source is empty; use e.g. 'smollm2-135m-instruct'")
    if spec in EMBEDDED_ASSETS:
        path = embedded_path(spec)
        kind = SourceKind.GGUF if path.suffix == ".gguf" else SourceKind.FOLDER
        return ModelSource(spec, kind, path)
    path = Path(spec).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelSourceError(f"GGUF file {path} does not exist")
        check_gguf_magic(path)
        return ModelSource(spec, SourceKind.GGUF, path.resolve())
    if path.is_file():
        raise ModelSourceError(
            f"{path} is not a supported model file: pass a .gguf file, a Hugging Face model "
            "folder (the one with config.json), a hub id, or an embedded name such as "
            "'smollm2-135m-instruct'"
        )
    if path.is_dir():
        if not (path / "config.json").is_file():
            ggufs = sorted(path.glob("*.gguf"))
            if len(ggufs) == 1:
                return ModelSource(spec, SourceKind.GGUF, ggufs[0].resolve())
            raise ModelSourceError(
                f"{path} has no config.json: it is not a Hugging Face model folder "
                "(point at the folder that holds config.json, or at a .gguf file)"
            )
        return ModelSource(spec, SourceKind.FOLDER, path.resolve())
    if spec.startswith((".", "/", "~")) or os.sep in spec.strip("/").replace("/", "", 1):
        raise ModelSourceError(f"model path {spec} does not exist")
    return _resolve_hub_id(spec)


GGUF_MAGIC = b"GGUF"


def check_gguf_magic(path: Path) -> None:
    """Fail clearly when a `.gguf` file is not one (llama.cpp only says "Failed to load")."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise ModelSourceError(f"cannot read GGUF file {path}: {exc.strerror or exc}") from None
    if head != GGUF_MAGIC:
        raise ModelSourceError(
            f"{path} is not a GGUF file (it does not start with the GGUF magic bytes; got "
            f"{head!r}): it may be truncated, a download error page, or another format"
        )


def _resolve_hub_id(repo_id: str) -> ModelSource:
    # A cached snapshot is used as a local folder, so loading never touches the network.
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = snapshot_download(repo_id, local_files_only=True)
        return ModelSource(repo_id, SourceKind.FOLDER, Path(folder))
    except LocalEntryNotFoundError:
        pass
    except Exception as exc:  # invalid repo id and the like
        raise ModelSourceError(f"{repo_id!r} is not a model name, path or hub id: {exc}") from None
    if _hub_offline() or not _hub_reachable():
        raise ModelSourceError(
            f"model {repo_id!r} is not in the local Hugging Face cache and the hub cannot be "
            "reached. Download it where there is network (`hf download "
            f"{repo_id}`) and copy the cache (~/.cache/huggingface) here, or pass a local folder "
            "or .gguf file, or use the embedded default 'smollm2-135m-instruct'."
        )
    return ModelSource(repo_id, SourceKind.HUB, None)


def _hub_offline() -> bool:
    return any(
        os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _hub_reachable(timeout: float = 2.0) -> bool:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
