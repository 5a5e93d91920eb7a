"""Loading Hugging Face causal LMs (and GGUF files through transformers) from ModelSettings."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from parley.engines.base import EngineError
from parley.engines.sources import ModelSource, SourceKind, resolve_source

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from parley.engines.settings import ModelSettings

log = logging.getLogger("parley")

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def pick_dtype(name: str, on_gpu: bool) -> torch.dtype:
    """`auto` is bfloat16 on a GPU that supports it, float16 on older GPUs, float32 on CPU."""
    if name != "auto":
        return DTYPES[name]
    if on_gpu:
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def max_memory_map(settings: ModelSettings) -> dict[int | str, str] | None:
    """`max_memory` for accelerate from per-GPU and CPU caps (OpenChatKit's `-g`/`-r`)."""
    caps: dict[int | str, str] = {int(gpu): cap for gpu, cap in settings.gpu_memory.items()}
    if settings.cpu_memory:
        caps["cpu"] = settings.cpu_memory
    return caps or None


def quantization_config(settings: ModelSettings) -> Any | None:
    """A bitsandbytes config for `load_in`, or a clear error where it cannot work."""
    if settings.load_in is None:
        return None
    if not torch.cuda.is_available():
        raise EngineError(
            f"load_in={settings.load_in} needs a CUDA GPU (bitsandbytes); none is visible. "
            "Unset model.load_in to load full-precision weights on the CPU."
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise EngineError(
            f"load_in={settings.load_in} needs bitsandbytes: `pip install bitsandbytes`"
        )
    from transformers import BitsAndBytesConfig

    if settings.load_in == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16)


def load_causal_lm(
    settings: ModelSettings,
    source: ModelSource | None = None,
    cache_dir: Path | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load the model and tokenizer `settings` describe, ready for generation.

    GGUF files are dequantised by transformers; with `cache_dir`, the result is saved there
    once so later loads skip the slow conversion.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = source or resolve_source(settings.source)
    on_gpu = torch.cuda.is_available()
    dtype = pick_dtype(settings.dtype, on_gpu)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    kwargs: dict[str, Any] = {"dtype": dtype}
    if settings.device_map:
        kwargs["device_map"] = settings.device_map
        kwargs["max_memory"] = max_memory_map(settings)
    elif settings.gpu_memory or settings.cpu_memory:
        raise EngineError("gpu_memory/cpu_memory need model.device_map='auto'")
    quant = quantization_config(settings)
    if quant is not None:
        kwargs["quantization_config"] = quant
        kwargs.setdefault("device_map", "auto")

    location, file_kwargs = _weights_location(source, cache_dir)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, **file_kwargs)
        model: Any = AutoModelForCausalLM.from_pretrained(location, **file_kwargs, **kwargs)
    except OSError as exc:
        raise EngineError(f"cannot load model {source.spec!r}: {exc}") from None
    if "gguf_file" in file_kwargs and cache_dir is not None:
        _save_dequantised(model, tokenizer, _dequantised_dir(source, cache_dir))
    if "device_map" not in kwargs and on_gpu:
        model = model.to("cuda")
    model.eval()
    tokenizer.padding_side = "left"  # batched decoding appends on the right
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def _weights_location(source: ModelSource, cache_dir: Path | None) -> tuple[str, dict[str, Any]]:
    if source.kind is SourceKind.HUB:
        return source.spec, {}
    assert source.path is not None
    if source.kind is SourceKind.GGUF:
        if cache_dir is not None:
            cached = _dequantised_dir(source, cache_dir)
            if (cached / "config.json").is_file():
                return str(cached), {"local_files_only": True}
        return str(source.path.parent), {"gguf_file": source.path.name, "local_files_only": True}
    return str(source.path), {"local_files_only": True}


def _dequantised_dir(source: ModelSource, cache_dir: Path) -> Path:
    assert source.path is not None
    stat = source.path.stat()
    key = hashlib.sha1(f"{source.path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    return cache_dir / "dequantised" / f"{source.path.stem}-{key[:12]}"


def _save_dequantised(model: Any, tokenizer: Any, target: Path) -> None:
    if (target / "config.json").is_file():
        return
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        # The weights are plain tensors once dequantised; only the GGUF marker blocks saving.
        quantizer = getattr(model, "hf_quantizer", None)
        config_quant = getattr(model.config, "quantization_config", None)
        model.hf_quantizer = None
        if config_quant is not None:
            del model.config.quantization_config
        try:
            model.save_pretrained(tmp)
        finally:
            model.hf_quantizer = quantizer
            if config_quant is not None:
                model.config.quantization_config = config_quant
        tokenizer.save_pretrained(tmp)
        tmp.rename(target)
    except (OSError, ValueError) as exc:  # a cache is an optimisation: never fail the load
        log.warning("could not cache the dequantised model in %s: %s", target, exc)
