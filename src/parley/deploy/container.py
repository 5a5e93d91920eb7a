"""The SageMaker bring-your-own-container contract: `docker run IMAGE serve`.

SageMaker unpacks the model artifact into `/opt/ml/model` and runs the image with the argument
`serve`; the container must answer `GET /ping` and `POST /invocations` on port 8080. The image
(docker/Dockerfile) puts a `serve` script on PATH that runs `parley deploy serve-container`,
which finds the packaged settings (a `parley deploy djl` folder, at the top of /opt/ml/model or
one level down as the tarball unpacks) and serves Parley's app there.
"""

from __future__ import annotations

import os
from pathlib import Path

from parley.config import Settings
from parley.deploy.djl_handler import SETTINGS_FILE, ServingOptions, settings_for

SAGEMAKER_MODEL_DIR = Path("/opt/ml/model")
SAGEMAKER_PORT = 8080


class ContainerError(RuntimeError):
    """The model folder is not usable; the message says what is missing."""


def find_model_dir(root: Path = SAGEMAKER_MODEL_DIR) -> Path:
    """The folder holding `parley.toml`: `root` itself or its only child that has one."""
    if (root / SETTINGS_FILE).is_file():
        return root
    if not root.is_dir():
        raise ContainerError(f"{root} does not exist: SageMaker puts the model artifact there")
    candidates = sorted(p for p in root.iterdir() if (p / SETTINGS_FILE).is_file())
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        raise ContainerError(
            f"expected one Parley model folder (with {SETTINGS_FILE}) in {root}, found {found}"
        )
    return candidates[0]


def read_properties(path: Path) -> dict[str, str]:
    """`serving.properties` as a dict (`key=value` lines; `#` comments)."""
    properties: dict[str, str] = {}
    if not path.is_file():
        return properties
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ContainerError(f"{path}:{number}: expected key=value, got {line!r}")
        properties[key.strip()] = value.strip()
    return properties


def container_settings(root: Path = SAGEMAKER_MODEL_DIR) -> Settings:
    """Parley's settings for the artifact under `root`, as DJL's handler would build them,
    bound to all addresses on SageMaker's port (SAGEMAKER_BIND_TO_PORT when set)."""
    model_dir = find_model_dir(root)
    properties = read_properties(model_dir / "serving.properties")
    properties["model_dir"] = str(model_dir)
    settings = settings_for(ServingOptions.from_properties(properties))
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", SAGEMAKER_PORT))
    return settings.model_copy(
        update={"server": settings.server.model_copy(update={"host": "0.0.0.0", "port": port})}
    )
