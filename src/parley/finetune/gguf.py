"""GGUF export with llama.cpp's own `convert_hf_to_gguf.py`, from the pinned llama.cpp source.

The script (with its `conversion` package and `gguf-py`) comes from the llama-cpp-python
source distribution at the version the set-up builds; it is downloaded once and the extracted
scripts are cached per machine under `~/.cache/parley/llama.cpp-<version>`. The `q8_0`,
`f16`, `bf16` and `f32` types are written by the script itself (no compiled quantizer).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from parley.embedded import machine_cache_dir

LLAMA_CPP_PYTHON_VERSION = os.environ.get("PARLEY_LLAMA_CPP_VERSION", "0.3.36")
"""The llama-cpp-python release whose vendored llama.cpp the set-up builds (scripts/setup.sh)."""
OUT_TYPES = ("q8_0", "f16", "bf16", "f32")
_NEEDED = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")


class GGUFExportError(RuntimeError):
    """The GGUF file could not be made; the message says why."""


def scripts_dir(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    return machine_cache_dir() / f"llama.cpp-{version}"


def ensure_scripts(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    """The folder holding convert_hf_to_gguf.py, extracting it from the sdist on first use."""
    target = scripts_dir(version)
    if (target / "convert_hf_to_gguf.py").is_file():
        return target
    with tempfile.TemporaryDirectory(prefix="parley-llama-sdist-") as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", f"llama-cpp-python=={version}", "--dest", tmp,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        archives = list(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        if done.returncode != 0 or not archives:
            raise GGUFExportError(
                f"could not download the llama-cpp-python {version} source for llama.cpp's "
                f"conversion script: {done.stderr.strip()[-500:] or 'no archive'}"
            )
        staging = Path(tmp) / "scripts"
        _extract(archives[0], staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not (target / "convert_hf_to_gguf.py").is_file():  # another process may have won
            shutil.rmtree(target, ignore_errors=True)
            shutil.move(str(staging), target)
    return target


def _extract(archive: Path, staging: Path) -> None:
    with tarfile.open(archive) as tar:
        members = []
        for member in tar.getmembers():
            parts = member.name.split("/", 3)
            # llama_cpp_python-X/vendor/llama.cpp/<path>
            if len(parts) < 4 or parts[1:3] != ["vendor", "llama.cpp"]:
                continue
            inner = parts[3]
            if not any(inner == n or inner.startswith(n) for n in _NEEDED):
                continue
            if not (member.isfile() or member.isdir()):
                continue
            member.name = inner
            members.append(member)
        tar.extractall(staging, members=members, filter="data")


def convert_to_gguf(model_dir: Path, outfile: Path, outtype: str = "q8_0") -> Path:
    """Convert the HF model folder to GGUF with llama.cpp's script; the file written."""
    if outtype not in OUT_TYPES:
        raise GGUFExportError(f"GGUF type {outtype!r} is not one of {', '.join(OUT_TYPES)}")
    script = ensure_scripts() / "convert_hf_to_gguf.py"
    command = [
        sys.executable, str(script), str(model_dir),
        "--outfile", str(outfile), "--outtype", outtype,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not outfile.is_file():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise GGUFExportError(f"llama.cpp's convert_hf_to_gguf.py failed:\n{tail}")
    return outfile
