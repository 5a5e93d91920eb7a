"""What a fine-tune leaves in OUT: the merged model, the adapter, a GGUF file, the model card.

OUT itself is a Hugging Face model folder (config.json, weights, tokenizer), so
`parley chat --model OUT` and `parley serve --model OUT` load the tuned model directly. A LoRA
run also keeps the adapter alone in OUT/adapter; `--gguf` adds OUT/model-<type>.gguf, made by
llama.cpp's own conversion script, for the llama.cpp engine.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parley.finetune.trainer import Recipe

log = logging.getLogger("parley")

MANIFEST = "parley-finetune.json"
ADAPTER_DIR = "adapter"


def export(
    recipe: Recipe, figures: dict[str, float], *, gguf: str | None, total_seconds: float
) -> dict[str, Any]:
    """Write the adapter, the merged model, the optional GGUF file, the card and the manifest."""
    out = recipe.out_dir
    out.mkdir(parents=True, exist_ok=True)
    model = recipe.model
    if recipe.options.method != "full":
        model.save_pretrained(out / ADAPTER_DIR)
        recipe.tokenizer.save_pretrained(out / ADAPTER_DIR)
        model = model.merge_and_unload()
    model.eval()
    model.save_pretrained(out)
    tokenizer = recipe.tokenizer
    tokenizer.padding_side = "left"  # as the transformers engine loads it
    if getattr(recipe, "format_name", None) == "openchatkit" and tokenizer.chat_template:
        # Trained in the OpenChatKit format: without a template, `auto` serves it that way.
        tokenizer.chat_template = None
    tokenizer.save_pretrained(out)
    clear_checkpoints(out)
    gguf_path = None
    if gguf:
        from parley.finetune.gguf import convert_to_gguf

        gguf_path = convert_to_gguf(out, out / f"model-{gguf}.gguf", gguf)
    manifest = _manifest(recipe, figures, total_seconds, gguf_path)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(model_card(manifest), encoding="utf-8")
    return manifest


def _manifest(
    recipe: Recipe, figures: dict[str, float], total_seconds: float, gguf_path: Path | None
) -> dict[str, Any]:
    result = recipe.result
    options = recipe.options
    assert recipe.source is not None and result is not None
    parameters: dict[str, Any] = {
        "method": options.method,
        "epochs": options.epochs,
        "max_steps": options.max_steps,
        "learning_rate": options.learning_rate(),
        "batch_size": options.batch_size,
        "grad_accum": options.grad_accum,
        "max_length": options.max_length,
        "seed": options.seed,
    }
    if options.method != "full":
        parameters |= {
            "lora_r": options.lora_r,
            "lora_alpha": options.lora_alpha,
            "lora_dropout": options.lora_dropout,
            "lora_targets": options.lora_targets,
        }
    return {
        "format": "parley.finetune.v1",
        "recipe": recipe.kind,
        "base_model": recipe.source.spec,
        "base_model_path": str(recipe.source.path) if recipe.source.path else None,
        "prompt_format": getattr(recipe, "format_name", None),
        "system_prompt": getattr(recipe, "system_prompt", None),
        "data": recipe.data_card(),
        "parameters": parameters,
        "training": {
            "steps": result.steps,
            "epochs": round(result.epochs, 3),
            "seconds": round(result.seconds, 1),
            "train_loss": result.train_loss,
            "loss_curve": result.losses,
            "peak_rss_mb": result.peak_rss_mb,
            "resumed_from_step": result.resumed_from_step,
        },
        "eval": figures,
        "outputs": {
            "merged": ".",
            "adapter": ADAPTER_DIR if options.method != "full" else None,
            "gguf": gguf_path.name if gguf_path else None,
        },
        "machine": machine(),
        "total_seconds": round(total_seconds, 1),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def model_card(manifest: dict[str, Any]) -> str:
    """README.md for OUT: base model, data, parameters, evaluation and time."""
    data = manifest["data"]
    training = manifest["training"]
    figures = manifest["eval"]
    lines = [
        "---",
        f"base_model: {manifest['base_model']}",
        "library_name: transformers",
        "tags: [parley, fine-tuned, " + manifest["parameters"]["method"] + "]",
        "---",
        "",
        f"# Fine-tuned {manifest['base_model']} ({manifest['recipe']})",
        "",
        f"Made by `parley finetune` on {manifest['finished_at']}.",
        f"Serve it with `parley serve --model {'.'}` from this folder, or chat with "
        "`parley chat --model .`.",
        "",
        "## Base model",
        "",
        f"- source: `{manifest['base_model']}`",
        f"- prompt format: `{manifest['prompt_format']}`",
    ]
    if manifest.get("system_prompt"):
        lines.append(f"- system prompt: {manifest['system_prompt']!r}")
    lines += ["", "## Data", ""]
    lines += [f"- {key}: {_plain(value)}" for key, value in data.items()]
    lines += ["", "## Parameters", ""]
    lines += [f"- {key}: {_plain(value)}" for key, value in manifest["parameters"].items()]
    lines += ["", "## Evaluation", ""]
    if figures:
        lines += ["| held-out | before | after |", "| --- | --- | --- |"]
        for name in sorted({k.rsplit("_", 1)[0] for k in figures}):
            before, after = figures.get(f"{name}_before"), figures.get(f"{name}_after")
            lines.append(f"| {name} | {_fmt(before)} | {_fmt(after)} |")
    else:
        lines.append("No held-out data was given (`--eval DATA` or `--eval-split`).")
    lines += [
        "",
        "## Training",
        "",
        f"- steps: {training['steps']} ({training['epochs']} epochs)",
        f"- training time: {training['seconds']} s (whole run {manifest['total_seconds']} s)"
        + (
            f"; resumed from step {training['resumed_from_step']}, the time is of the steps after"
            if training.get("resumed_from_step")
            else ""
        ),
        f"- final training loss (mean over the run): {_fmt(training['train_loss'])}",
        f"- peak memory (RSS): {training['peak_rss_mb']} MB",
        f"- machine: {_plain(manifest['machine'])}",
        "",
        "## Files",
        "",
        "- `config.json`, `model.safetensors`, tokenizer files: the merged model",
    ]
    outputs = manifest["outputs"]
    if outputs["adapter"]:
        lines.append(f"- `{outputs['adapter']}/`: the LoRA adapter alone (peft)")
    if outputs["gguf"]:
        lines.append(f"- `{outputs['gguf']}`: GGUF for the llama.cpp engine")
    lines.append(f"- `{MANIFEST}`: all of the above, machine-readable")
    return "\n".join(lines) + "\n"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def elapsed(start: float) -> float:
    return round(time.perf_counter() - start, 1)


def machine() -> dict[str, Any]:
    """Where the training ran, for the model card."""
    import torch

    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpus"] = torch.cuda.device_count()
    return info


def clear_checkpoints(out_dir: Path) -> None:
    """Remove OUT/checkpoints (kept only while a run may be resumed)."""
    shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)
