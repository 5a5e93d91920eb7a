"""`parley finetune DATA --out DIR` and `parley finetune moderation DATA --out DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from parley.cli_common import console, err_console, fail, settings_from
from parley.finetune.options import METHODS, FinetuneOptions


class _ChatByDefault(TyperGroup):
    """`parley finetune DATA ...` means `parley finetune chat DATA ...`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["chat", *args]
        return super().parse_args(ctx, args)


finetune_app = typer.Typer(
    cls=_ChatByDefault,
    help="Fine-tune the chat model (default) or an LLM moderator on your data.",
    no_args_is_help=True,
)

Out = Annotated[Path, typer.Option("--out", "-o", help="Folder for the tuned model.")]
MethodOpt = Annotated[str, typer.Option(help=f"Training method: {', '.join(METHODS)}.")]
Epochs = Annotated[float, typer.Option(help="Passes over the data.")]
MaxSteps = Annotated[int | None, typer.Option(help="Stop after N steps (overrides --epochs).")]
Lr = Annotated[float | None, typer.Option(help="Learning rate (default: 1e-3 LoRA, 5e-5 full).")]
LoraR = Annotated[int, typer.Option(help="LoRA rank.")]
LoraAlpha = Annotated[int, typer.Option(help="LoRA alpha (scale = alpha / r).")]
LoraTargets = Annotated[
    str, typer.Option(help="Comma-separated module names to adapt, or all-linear.")
]
MaxLength = Annotated[int, typer.Option(help="Longest training sequence in tokens.")]
BatchSize = Annotated[int, typer.Option(help="Sequences per step.")]
Seed = Annotated[int, typer.Option(help="Random seed (data order, LoRA init, split).")]
Resume = Annotated[bool, typer.Option(help="Continue from the last checkpoint in --out.")]
Gguf = Annotated[
    str | None,
    typer.Option(help="Also write OUT/model-TYPE.gguf for llama.cpp: q8_0, f16, bf16 or f32."),
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", "-m", help="Base model (default: the configured one).")
]
Threads = Annotated[int | None, typer.Option(help="CPU threads (default: all cores).")]


def _options(
    method: str,
    epochs: float,
    max_steps: int | None,
    lr: float | None,
    lora_r: int,
    lora_alpha: int,
    lora_targets: str,
    max_length: int,
    batch_size: int,
    seed: int,
    resume: bool,
) -> FinetuneOptions:
    if method not in METHODS:
        fail(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    for name, value in (
        ("--lora-r", lora_r),
        ("--max-length", max_length),
        ("--batch-size", batch_size),
    ):
        if value < 1:
            fail(f"{name} must be at least 1")
    if epochs <= 0 and max_steps is None:
        fail("--epochs must be positive")
    if max_steps is not None and max_steps < 1:
        fail("--max-steps must be at least 1")
    if lr is not None and not 0 < lr < 1:
        fail("--lr must be between 0 and 1")
    targets = [t.strip() for t in lora_targets.split(",") if t.strip()]
    if not targets:
        fail("--lora-targets is empty")
    return FinetuneOptions(
        method=method,
        epochs=epochs,
        max_steps=max_steps,
        lr=lr,
        lora_r=lora_r,
        lora_alpha=lora_alpha,
        lora_targets=targets,
        max_length=max_length,
        batch_size=batch_size,
        seed=seed,
        resume=resume,
    )


def _check_out(out: Path, resume: bool) -> None:
    from parley.finetune.export import MANIFEST

    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()):
        ours = (out / MANIFEST).is_file() or (out / "checkpoints").is_dir()
        if not ours:
            fail(f"--out {out} holds other files; give an empty or new folder")
        if resume and not (out / "checkpoints").is_dir():
            fail(f"--resume: {out} has no checkpoints to continue from")


def _run(recipe: Any, gguf: str | None) -> None:
    from parley.engines.base import EngineError
    from parley.engines.sources import ModelSourceError
    from parley.finetune.data import DataError
    from parley.finetune.gguf import OUT_TYPES, GGUFExportError
    from parley.finetune.options import FinetuneError

    if gguf is not None and gguf not in OUT_TYPES:
        fail(f"--gguf must be one of {', '.join(OUT_TYPES)}, got {gguf!r}")
    try:
        manifest = recipe.run(gguf=gguf)
    except DataError as exc:
        fail(f"bad training data:\n{exc}")
    except (FinetuneError, EngineError, ModelSourceError, GGUFExportError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail(f"interrupted; continue with --resume (checkpoints in {recipe.out_dir})", code=130)
    figures = manifest["eval"]
    training = manifest["training"]
    console.print(
        f"tuned {manifest['base_model']} in {training['seconds']} s ({training['steps']} steps, "
        f"peak {training['peak_rss_mb']} MB); saved in {recipe.out_dir}",
        highlight=False,
        soft_wrap=True,
    )
    if figures:
        console.print(
            f"held-out loss {figures['eval_loss_before']:.4f} -> {figures['eval_loss_after']:.4f}",
            highlight=False,
        )
    if manifest["outputs"]["gguf"]:
        console.print(f"GGUF: {recipe.out_dir / manifest['outputs']['gguf']}", highlight=False)


@finetune_app.command("chat")
def finetune_chat(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Argument(
            help="Conversations: OpenAI chat JSONL, OpenChatKit JSONL, or CSV/Parquet with "
            "prompt,response columns."
        ),
    ],
    out: Out,
    method: MethodOpt = "lora",
    epochs: Epochs = 8.0,
    max_steps: MaxSteps = None,
    lr: Lr = None,
    lora_r: LoraR = 16,
    lora_alpha: LoraAlpha = 32,
    lora_targets: LoraTargets = "all-linear",
    max_length: MaxLength = 1024,
    batch_size: BatchSize = 4,
    eval_data: Annotated[
        Path | None, typer.Option("--eval", help="Held-out conversations for the loss figures.")
    ] = None,
    eval_split: Annotated[
        float | None, typer.Option(help="Hold this part of DATA out instead (e.g. 0.1).")
    ] = None,
    seed: Seed = 0,
    resume: Resume = False,
    gguf: Gguf = None,
    model: ModelOpt = None,
    threads: Threads = None,
) -> None:
    """Fine-tune the chat model on DATA, in the prompt format the server uses for it."""
    from parley.finetune.chat import ChatRecipe
    from parley.finetune.data import DataError

    settings = settings_from(ctx)
    options = _options(
        method, epochs, max_steps, lr, lora_r, lora_alpha, lora_targets, max_length,
        batch_size, seed, resume,
    )  # fmt: skip
    _check_out(out, resume)
    model_settings = settings.model.model_copy(
        update={k: v for k, v in {"source": model, "threads": threads}.items() if v is not None}
    )
    try:
        recipe = ChatRecipe(
            model_settings,
            data,
            out,
            options,
            eval_data=eval_data,
            eval_split=eval_split,
            cache_dir=settings.data_dir / "models",
            console=err_console,
        )
    except DataError as exc:
        fail(f"bad training data:\n{exc}")
    except ValueError as exc:
        fail(str(exc))
    _run(recipe, gguf)


SHIPPED = ("train", "dev", "test")


def _labelled_path(value: Path) -> Path:
    from parley.moderation.data import shipped_dev_path, shipped_test_path, shipped_train_path

    parts = {"train": shipped_train_path, "dev": shipped_dev_path, "test": shipped_test_path}
    if not value.exists() and str(value) in parts:
        return parts[str(value)]()
    return value


@finetune_app.command("moderation")
def finetune_moderation(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Argument(help="Labelled JSONL ({text, label}); train, dev, test: Parley's own."),
    ],
    out: Out,
    method: MethodOpt = "lora",
    epochs: Epochs = 1.0,
    max_steps: MaxSteps = None,
    lr: Lr = None,
    lora_r: LoraR = 16,
    lora_alpha: LoraAlpha = 32,
    lora_targets: LoraTargets = "all-linear",
    max_length: MaxLength = 512,
    batch_size: BatchSize = 8,
    eval_data: Annotated[
        Path | None, typer.Option("--eval", help="Held-out labelled JSONL (default: dev).")
    ] = Path("dev"),
    limit: Annotated[
        int | None, typer.Option(help="Train on a stratified subset of this many examples.")
    ] = None,
    eval_limit: Annotated[
        int | None, typer.Option(help="Score the held-out loss on at most this many.")
    ] = 200,
    seed: Seed = 0,
    resume: Resume = False,
    gguf: Gguf = None,
    model: ModelOpt = None,
    threads: Threads = None,
) -> None:
    """Tune a causal LM as a GPT-JT-Moderation-style moderator (the `llm` moderator's prompt)."""
    from parley.config import ModelSettings
    from parley.finetune.data import DataError
    from parley.finetune.moderation import ModerationRecipe

    settings = settings_from(ctx)
    options = _options(
        method, epochs, max_steps, lr, lora_r, lora_alpha, lora_targets, max_length,
        batch_size, seed, resume,
    )  # fmt: skip
    _check_out(out, resume)
    moderation = settings.moderation
    model_settings = ModelSettings.model_validate(
        {
            "source": model or moderation.llm_model,
            **moderation.llm_model_options,
            **({"threads": threads} if threads else {}),
        }
    )
    try:
        recipe = ModerationRecipe(
            model_settings,
            _labelled_path(data),
            out,
            options,
            few_shot=[(e.text, e.label) for e in moderation.few_shot],
            eval_data=_labelled_path(eval_data) if eval_data else None,
            limit=limit,
            eval_limit=eval_limit,
            cache_dir=settings.data_dir / "models",
            console=err_console,
        )
    except DataError as exc:
        fail(f"bad training data:\n{exc}")
    _run(recipe, gguf)
    console.print(
        f'use it: [moderation] moderator = "llm", llm_model = "{out.resolve()}"',
        markup=False,
        highlight=False,
    )
