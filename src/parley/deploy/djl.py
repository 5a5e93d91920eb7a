"""`parley deploy djl`: a DJL Serving / SageMaker LMI model folder and its `.tar.gz`.

The folder holds `serving.properties` (engine=Python), `model.py` (Parley's handler), the Parley
code it was made with (`python/parley`), `requirements.txt` pinning Parley's dependencies at the
versions installed here, the settings (`parley.toml`, sessions in DynamoDB by default as in the
seed), and optionally the model weights, the knowledge index and the trained moderation head.
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tomli_w

from parley.config import Settings
from parley.deploy.djl_handler import PACKED_DATA_DIR, PACKED_MODEL_DIR, SETTINGS_FILE

Dtype = Literal["fp16", "bf16", "fp32", "auto"]
# Provided by the serving image (the LMI containers bring a CUDA build of PyTorch) or not
# used there (llama.cpp is Parley's CPU engine; GPU deployments run transformers).
NOT_PINNED = {"torch", "llama-cpp-python"}
EXTRAS = ("dynamodb", "embedded")


class DeployError(ValueError):
    """The artifact cannot be written as asked; the message says why."""


@dataclass
class DjlOptions:
    """What `parley deploy djl` is asked to write."""

    model: str | None = None
    """Model source (Hugging Face id, local folder or GGUF); the configured one when None."""
    s3url: str | None = None
    """`option.s3url`: the weights live in S3 instead of the artifact."""
    tensor_parallel_degree: int = 1
    dtype: Dtype = "fp16"
    streaming: bool = False
    include_model: bool = True
    """Copy a local model (folder or GGUF, the embedded default included) into the artifact."""
    include_index: bool = False
    index_s3url: str | None = None
    sessions: Literal["dynamodb", "sqlite", "postgres"] = "dynamodb"
    settings_overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class DjlArtifact:
    folder: Path
    tarball: Path
    files: list[str]


def write_djl_artifact(settings: Settings, folder: Path, options: DjlOptions) -> DjlArtifact:
    """Write the model folder and `<folder>.tar.gz`; refuses a non-empty folder."""
    from parley.engines.sources import resolve_source

    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise DeployError(f"{folder} exists and is not empty; choose a new folder")
    if options.include_index and options.index_s3url:
        raise DeployError("choose --include-index or --index-s3-url, not both")
    if options.tensor_parallel_degree < 1:
        raise DeployError("--tensor-parallel-degree must be at least 1")
    source_spec = options.model or settings.model.source
    properties: dict[str, str] = {
        "engine": "Python",
        "option.entryPoint": "model.py",
        "option.tensor_parallel_degree": str(options.tensor_parallel_degree),
        "option.dtype": options.dtype,
        "option.enable_streaming": "true" if options.streaming else "false",
        # One request at a time per worker: Parley's pipeline streams one reply per call.
        "option.max_rolling_batch_size": "1",
        "option.rolling_batch": "disable",
    }
    folder.mkdir(parents=True, exist_ok=True)
    packed_source: str | None = None
    if options.s3url:
        properties["option.s3url"] = options.s3url
    elif _is_local(source_spec):
        source = resolve_source(source_spec)
        if source.path is None or not options.include_model:
            raise DeployError(
                f"the model {source_spec!r} is local to this machine: pack it "
                "(--include-model) or upload it to S3 and pass --s3url"
            )
        packed_source = _copy_model(source.path, folder / PACKED_MODEL_DIR)
    else:
        # A hub id: the serving container downloads it (it need not be cached here).
        properties["option.model_id"] = source_spec
    if options.index_s3url:
        properties["option.index_s3url"] = options.index_s3url

    data = folder / PACKED_DATA_DIR
    _pack_moderation_heads(settings, data)
    if options.include_index:
        _pack_index(settings, data)

    packed = _packaged_settings(settings, options, packed_source)
    (folder / SETTINGS_FILE).write_text(tomli_w.dumps(packed), encoding="utf-8")
    (folder / "serving.properties").write_text(
        "".join(f"{key}={value}\n" for key, value in properties.items()), encoding="utf-8"
    )
    shutil.copyfile(Path(__file__).with_name("djl_entry.py"), folder / "model.py")
    (folder / "requirements.txt").write_text(requirements_txt(), encoding="utf-8")
    _vendor_parley(folder / "python")

    tarball = folder.with_name(folder.name + ".tar.gz")
    with tarfile.open(tarball, "w:gz", compresslevel=6) as archive:
        # The seed's layout: one top-level folder, which SageMaker unpacks into /opt/ml/model.
        archive.add(folder, arcname=folder.name, filter=_no_caches)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    return DjlArtifact(folder, tarball, files)


def requirements_txt() -> str:
    """Parley's runtime dependencies pinned at the versions installed here."""
    lines = [
        "# Written by `parley deploy djl`: Parley's dependencies at the versions it was tested",
        "# with. Parley itself is in python/ beside model.py. PyTorch is not pinned: the",
        "# serving image brings its CUDA build.",
    ]
    try:
        version = importlib.metadata.version("parley")
        lines.append(f"# parley=={version} (vendored)")
    except importlib.metadata.PackageNotFoundError:
        pass
    seen: set[str] = set()
    for name in _runtime_requirements():
        key = _normalise(name)
        if key in seen or key in NOT_PINNED:
            continue
        seen.add(key)
        try:
            lines.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            raise DeployError(
                f"{name} is not installed here, so its version cannot be pinned; install "
                "Parley with its extras (`pip install -e '.[embedded,dynamodb]'`)"
            ) from None
    return "\n".join(lines) + "\n"


def _runtime_requirements() -> list[str]:
    try:
        declared = importlib.metadata.requires("parley") or []
    except importlib.metadata.PackageNotFoundError:
        raise DeployError("Parley is not installed as a package (pip install -e .)") from None
    names = []
    for requirement in declared:
        spec, _, marker = requirement.partition(";")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if extra and extra.group(1) not in EXTRAS:
            continue
        name = re.split(r"[\s\[<>=!~]", spec.strip(), maxsplit=1)[0]
        if name and _normalise(name) != "parley":
            names.append(name)
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_local(spec: str) -> bool:
    from parley.embedded import EMBEDDED_ASSETS

    return spec in EMBEDDED_ASSETS or Path(spec).expanduser().exists() or spec.endswith(".gguf")


def _copy_model(path: Path, target: Path) -> str:
    target.mkdir(parents=True)
    if path.is_file():
        shutil.copy2(path, target / path.name)
        return f"{PACKED_MODEL_DIR}/{path.name}"
    shutil.copytree(path, target, dirs_exist_ok=True)
    return PACKED_MODEL_DIR


def _pack_moderation_heads(settings: Settings, data: Path) -> None:
    # Shipping the trained heads and the tuned encoder (~90 MB) spares every worker the
    # training (minutes) at start-up.
    if settings.moderation.moderator != "classifier":
        return
    heads = settings.data_dir / "moderation"
    if heads.is_dir():
        shutil.copytree(heads, data / "moderation", ignore=shutil.ignore_patterns("*.lock"))
    if settings.moderation.tune_encoder:
        from parley.moderation.classifier import tuned_encoder
        from parley.moderation.tuning import PACKED_ENCODERS
        from parley.registry import Shared

        encoder = tuned_encoder(settings.moderation, Shared(data_dir=settings.data_dir))
        shutil.copytree(encoder, data / PACKED_ENCODERS / encoder.name)


def _pack_index(settings: Settings, data: Path) -> None:
    from parley.retrieval.retriever import build_retriever

    if not settings.retrieval.enabled:
        raise DeployError("--include-index needs retrieval to be enabled in the settings")
    index = settings.retrieval.index_path(settings.data_dir)
    # Opening the retriever builds the index when it is missing (with a progress bar).
    build_retriever(settings.retrieval, settings.data_dir, progress=True)
    target = data / "indexes" / settings.retrieval.index_name
    shutil.copytree(index, target, ignore=shutil.ignore_patterns("*.lock"))


def _packaged_settings(
    settings: Settings, options: DjlOptions, packed_source: str | None
) -> dict[str, Any]:
    values = settings.model_dump(mode="json", exclude={"data_dir"})
    if options.model and not packed_source:
        values["model"]["source"] = options.model
    if packed_source:
        values["model"]["source"] = packed_source
    values["sessions"]["store"] = options.sessions
    values["sessions"].pop("sqlite_path", None)
    values["retrieval"].pop("index_dir", None)
    for section, fields in options.settings_overrides.items():
        values.setdefault(section, {}).update(fields)
    return _without_none(values)


def _without_none(value: Any) -> Any:
    # TOML has no null: unset settings are left out and take their defaults when read.
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _vendor_parley(target: Path) -> None:
    package = Path(__file__).resolve().parents[1]
    shutil.copytree(
        package, target / "parley", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )


def _no_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "__pycache__" in info.name or info.name.endswith(".lock") else info
