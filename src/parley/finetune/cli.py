"""`parley finetune DATA --out DIR` and `parley finetune moderation DATA --out DIR`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
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

_DEFAULTS = FinetuneOptions()


@dataclass
class SharedOptions:
    """The options every recipe takes; `shared_options` puts them on a Typer command.

    Each field's `Annotated` type is its Typer option; its default is FinetuneOptions's, which a
    recipe may override (the moderation recipe trains shorter rows in bigger batches).
    """

    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the tuned model.")]
    method: Annotated[str, typer.Option(help=f"Training method: {', '.join(METHODS)}.")] = (
        _DEFAULTS.method
    )
    epochs: Annotated[float, typer.Option(help="Passes over the data.")] = _DEFAULTS.epochs
    max_steps: Annotated[
        int | None, typer.Option(help="Stop after N steps (overrides --epochs).")
    ] = None
    lr: Annotated[
        float | None, typer.Option(help="Learning rate (default: 1e-3 LoRA, 5e-5 full).")
    ] = None
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = _DEFAULTS.lora_r
    lora_alpha: Annotated[int, typer.Option(help="LoRA alpha (scale = alpha / r).")] = (
        _DEFAULTS.lora_alpha
    )
    lora_targets: Annotated[
        str, typer.Option(help="Comma-separated module names to adapt, or all-linear.")
    ] = ",".join(_DEFAULTS.lora_targets)
    max_length: Annotated[int, typer.Option(help="Longest training sequence in tokens.")] = (
        _DEFAULTS.max_length
    )
    batch_size: Annotated[int, typer.Option(help="Sequences per step.")] = _DEFAULTS.batch_size
    seed: Annotated[int, typer.Option(help="Random seed (data order, LoRA init, split).")] = (
        _DEFAULTS.seed
    )
    resume: Annotated[bool, typer.Option(help="Continue from the last checkpoint in --out.")] = (
        False
    )
    gguf: Annotated[
        str | None,
        typer.Option(help="Also write OUT/model-TYPE.gguf for llama.cpp: q8_0, f16, bf16 or f32."),
    ] = None
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Base model (default: the configured one).")
    ] = None
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all cores).")] = None

    def finetune_options(self) -> FinetuneOptions:
        """The checked training options; a bad value exits with a message naming the flag."""
        if self.method not in METHODS:
            fail(f"--method must be one of {', '.join(METHODS)}, got {self.method!r}")
        for name, value in (
            ("--lora-r", self.lora_r),
            ("--max-length", self.max_length),
            ("--batch-size", self.batch_size),
        ):
            if value < 1:
                fail(f"{name} must be at least 1")
        if self.epochs <= 0 and self.max_steps is None:
            fail("--epochs must be positive")
        if self.max_steps is not None and self.max_steps < 1:
            fail("--max-steps must be at least 1")
        if self.lr is not None and not 0 < self.lr < 1:
            fail("--lr must be between 0 and 1")
        targets = [t.strip() for t in self.lora_targets.split(",") if t.strip()]
        if not targets:
            fail("--lora-targets is empty")
        return FinetuneOptions(
            method=self.method,  # checked against METHODS above
            epochs=self.epochs,
            max_steps=self.max_steps,
            lr=self.lr,
            lora_r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_targets=targets,
            max_length=self.max_length,
            batch_size=self.batch_size,
            seed=self.seed,
            resume=self.resume,
        )


def shared_options(**defaults: Any) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command SharedOptions's flags (with these defaults) in place of its `shared`.

    Typer reads a command's options from its signature; this decorator writes one field of
    SharedOptions there per option, and hands the command the filled dataclass, so the flags,
    their help and their checks live once for every recipe.
    """
    unknown = set(defaults) - {f.name for f in fields(SharedOptions)}
    if unknown:
        raise TypeError(f"not shared options: {', '.join(sorted(unknown))}")
    hints = inspect.get_annotations(SharedOptions, eval_str=True)
    added = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=hints[f.name],
            default=defaults.get(
                f.name, inspect.Parameter.empty if f.default is MISSING else f.default
            ),
        )
        for f in fields(SharedOptions)
    ]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(command, eval_str=True)
        if "shared" not in own.parameters:
            raise TypeError(f"{command.__name__} takes no `shared` parameter")
        parameters = [p for name, p in own.parameters.items() if name != "shared"] + added

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> None:
            shared = SharedOptions(**{f.name: kwargs.pop(f.name) for f in fields(SharedOptions)})
            command(shared=shared, **kwargs)

        wrapper.__signature__ = own.replace(  # type: ignore[attr-defined]
            parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in parameters]
        )
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate


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
    resumed = training.get("resumed_from_step")
    console.print(
        f"tuned {manifest['base_model']} in {training['seconds']} s ({training['steps']} steps"
        + (f", resumed from step {resumed}" if resumed else "")
        + f", peak {training['peak_rss_mb']} MB); saved in {recipe.out_dir}",
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
@shared_options()
def finetune_chat(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Argument(
            help="Conversations: OpenAI chat JSONL, OpenChatKit JSONL, or CSV/Parquet with "
            "prompt,response columns."
        ),
    ],
    shared: SharedOptions,
    eval_data: Annotated[
        Path | None, typer.Option("--eval", help="Held-out conversations for the loss figures.")
    ] = None,
    eval_split: Annotated[
        float | None, typer.Option(help="Hold this part of DATA out instead (e.g. 0.1).")
    ] = None,
) -> None:
    """Fine-tune the chat model on DATA, in the prompt format the server uses for it."""
    from parley.finetune.chat import ChatRecipe
    from parley.finetune.data import DataError

    settings = settings_from(ctx)
    options = shared.finetune_options()
    _check_out(shared.out, shared.resume)
    model_settings = settings.model.model_copy(
        update={
            k: v
            for k, v in {"source": shared.model, "threads": shared.threads}.items()
            if v is not None
        }
    )
    try:
        recipe = ChatRecipe(
            model_settings,
            data,
            shared.out,
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
    _run(recipe, shared.gguf)


SHIPPED = ("train", "dev", "test")


def _labelled_path(value: Path) -> Path:
    from parley.moderation.data import shipped_dev_path, shipped_test_path, shipped_train_path

    parts = {"train": shipped_train_path, "dev": shipped_dev_path, "test": shipped_test_path}
    if not value.exists() and str(value) in parts:
        return parts[str(value)]()
    return value


@finetune_app.command("moderation")
@shared_options(epochs=1.0, max_length=512, batch_size=8)
def finetune_moderation(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Argument(help="Labelled JSONL ({text, label}); train, dev, test: Parley's own."),
    ],
    shared: SharedOptions,
    eval_data: Annotated[
        Path | None, typer.Option("--eval", help="Held-out labelled JSONL (default: dev).")
    ] = Path("dev"),
    limit: Annotated[
        int | None, typer.Option(help="Train on a stratified subset of this many examples.")
    ] = None,
    eval_limit: Annotated[
        int | None, typer.Option(help="Score the held-out loss on at most this many.")
    ] = 200,
) -> None:
    """Tune a causal LM as a GPT-JT-Moderation-style moderator (the `llm` moderator's prompt)."""
    from parley.config import ModelSettings
    from parley.finetune.data import DataError
    from parley.finetune.moderation import ModerationRecipe

    settings = settings_from(ctx)
    options = shared.finetune_options()
    _check_out(shared.out, shared.resume)
    moderation = settings.moderation
    model_settings = ModelSettings.model_validate(
        {
            "source": shared.model or moderation.llm_model,
            **moderation.llm_model_options,
            **({"threads": shared.threads} if shared.threads else {}),
        }
    )
    try:
        recipe = ModerationRecipe(
            model_settings,
            _labelled_path(data),
            shared.out,
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
    _run(recipe, shared.gguf)
    console.print(
        f'use it: [moderation] moderator = "llm", llm_model = "{shared.out.resolve()}"',
        markup=False,
        highlight=False,
    )
