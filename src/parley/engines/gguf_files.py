"""GGUF files for llama.cpp: metadata, and a Q8_0 copy of a Q4_1 file for the CPU.

llama.cpp reads prompts with fast CPU matrix kernels (llamafile's sgemm, repacked layouts) for
Q8_0 and Q4_0 weights, but not for Q4_1, so a Q4_1 file reads prompts at half the speed. Q8_0
holds every Q4_1 weight almost exactly (a 255-step grid per block of 32 over a 16-step one).
Measured on the embedded SmolLM2-135M Q4_1, 2 cores: prompt tokens/s 330-370 -> 710-730 on
llama-server (in-process 275 -> 620-650), one stream's decode 105-123 -> 114-115, eight streams
224-233 -> 272-275 tokens/s in total. Over 7,366 tokens of Wikipedia text the copy's next-token
distributions are 0.007 nats (mean KL) from the Q4_1 file's, perplexity 17.57 against 17.59 (a
bfloat16 copy: 0.006 nats, 17.46); requantising to Q4_0 instead, for its faster kernels, moves
them 0.35 nats (perplexity 21.3), a different model. Costs: ~1 s once per machine, 1.6x the
file's size on disk and in memory (145 MB instead of 92 MB for the default).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from parley.embedded import machine_cache_dir
from parley.engines.sources import ModelSource, resolve_source

if TYPE_CHECKING:
    from parley.engines.settings import ModelSettings

log = logging.getLogger("parley")

Q4_1_FILE_TYPE = 3
"""llama.cpp's `LLAMA_FTYPE_MOSTLY_Q4_1` (the GGUF's `general.file_type`)."""
COPY_RECIPE = "q8_0-from-q4_1-v1"
KEY_SAMPLE_BYTES = 4 << 20
"""Bytes read from each end of a file for its copy's key (the header holds every tensor's
name, type and offset; hashing a whole multi-GB model would cost seconds per start)."""


def gguf_metadata(path: Path) -> dict[str, str]:
    """A GGUF file's metadata (key -> value as text), read without loading its weights."""
    stat = path.stat()
    return dict(_read_metadata(str(path.resolve()), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=16)
def _read_metadata(path: str, size: int, mtime_ns: int) -> dict[str, str]:
    # Cached per file version: a start reads it for the thread plan, the copy and the window,
    # and a vocab-only load costs 70-200 ms.
    from llama_cpp import Llama
    from llama_cpp._utils import suppress_stdout_stderr

    # A vocab-only load reads the metadata without the weights (gguf's reader would page in
    # every tensor); its context warns about a zero training length, which is irrelevant here.
    with suppress_stdout_stderr(disable=False):
        probe = Llama(path, vocab_only=True, verbose=False)
    metadata = dict(probe.metadata)
    del probe
    return metadata


def gguf_context_length(path: Path, default: int = 2048) -> int:
    """The context length a GGUF model was trained with, from its metadata."""
    metadata = gguf_metadata(path)
    length = metadata.get(f"{metadata.get('general.architecture')}.context_length")
    return int(length) if length else default


def gguf_source(settings: ModelSettings) -> ModelSource:
    """`settings.source` resolved as the llama.cpp engines run it: a Q4_1 GGUF's Q8_0 copy
    where `settings.q8_0_copy` is on."""
    source = resolve_source(settings.source)
    return cpu_copy(source) if settings.q8_0_copy else source


def cpu_copy(source: ModelSource, *, root: Path | None = None) -> ModelSource:
    """`source`, or its Q8_0 copy (made once, kept in `root`, by default the machine's cache)
    when it is a Q4_1 GGUF and llama-cpp-python, which converts it, is installed."""
    if not source.is_gguf or source.path is None:
        return source
    target = copy_path(source.path, root)
    if target.is_file():  # only ever made from a Q4_1 file with this content
        return ModelSource(source.spec, source.kind, target)
    try:
        file_type = int(gguf_metadata(source.path).get("general.file_type", -1))
    except (ImportError, ValueError, RuntimeError):
        # No llama-cpp-python (an optional extra) to read and convert it, or metadata that
        # llama.cpp cannot read: serve it as it is and let the engine say what is wrong.
        return source
    if file_type != Q4_1_FILE_TYPE:
        return source
    try:
        _convert(source.path, target)
    except OSError as exc:  # a full or read-only cache: serve the original, slower
        log.warning("no Q8_0 copy of %s (%s); serving the Q4_1 file", source.path, exc)
        return source
    return ModelSource(source.spec, source.kind, target)


def copy_path(path: Path, root: Path | None = None) -> Path:
    """Where the copy of `path` lives: keyed by the recipe and the file's content (its size,
    head and tail: a reinstalled package's identical file finds its copy, an edited one not)."""
    size = path.stat().st_size
    digest = hashlib.sha256(f"{COPY_RECIPE}:{size}:".encode())
    with path.open("rb") as handle:
        digest.update(handle.read(KEY_SAMPLE_BYTES))
        handle.seek(max(0, size - KEY_SAMPLE_BYTES))
        digest.update(handle.read(KEY_SAMPLE_BYTES))
    key = digest.hexdigest()[:16]
    stem = path.name.removesuffix(".gguf")
    return (root or machine_cache_dir() / "gguf") / key / f"{stem}.as-Q8_0.gguf"


def _convert(path: Path, target: Path) -> None:
    import ctypes

    import llama_cpp
    from filelock import FileLock
    from llama_cpp._utils import suppress_stdout_stderr

    target.parent.mkdir(parents=True, exist_ok=True)
    # One process converts; others starting at once (replicas, test workers) wait for it.
    with FileLock(str(target.parent / ".lock")):
        if target.is_file():
            return
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
        params.allow_requantize = True
        params.nthread = min(2, os.cpu_count() or 1)
        log.info("making a Q8_0 copy of %s for faster prompts (once)", path)
        try:
            with suppress_stdout_stderr(disable=False):
                failed = llama_cpp.llama_model_quantize(
                    str(path).encode(), str(partial).encode(), ctypes.byref(params)
                )
            if failed:
                raise OSError(f"llama.cpp could not convert it (code {failed})")
            # Written aside and renamed: a reader never sees half a model.
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
