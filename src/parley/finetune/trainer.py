"""The recipe: setup -> fit -> validate -> export, on TRL's SFT trainer and peft.

`setup` loads the model through the engines' loading path (a GGUF source is dequantised once
and cached, as the transformers engine does), renders the data into token rows and wraps the
model for the method (`lora`, `qlora` or `full`). `fit` runs TRL's `SFTTrainer` (accelerate
underneath: one GPU, several, or the CPU). `validate` measures held-out loss before and after.
"""

from __future__ import annotations

import logging
import math
import resource
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from parley.engines.sources import ModelSource, resolve_source
from parley.finetune.options import METHODS, FinetuneError, FinetuneOptions
from parley.finetune.render import Tokenized

if TYPE_CHECKING:
    from rich.console import Console

    from parley.config import ModelSettings

log = logging.getLogger("parley")


@dataclass
class FitResult:
    """What training did, for the model card."""

    steps: int
    epochs: float
    seconds: float
    train_loss: float | None
    losses: list[tuple[int, float]]
    eval_before: dict[str, float] = field(default_factory=dict)
    eval_after: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    resumed_from_step: int | None = None
    """With --resume, the checkpoint's step: `seconds` then covers only the steps after it."""


class Recipe(ABC):
    """One fine-tune: a base model, data rendered for it, a method; litgpt's shape."""

    kind: str = "chat"

    def __init__(
        self,
        model_settings: ModelSettings,
        out_dir: Path,
        options: FinetuneOptions,
        cache_dir: Path | None = None,
        console: Console | None = None,
    ) -> None:
        self.model_settings = model_settings
        self.out_dir = out_dir
        self.options = options
        self.cache_dir = cache_dir
        self.console = console
        self.source: ModelSource | None = None
        self.model: Any = None
        self.tokenizer: Any = None
        self.train_rows: list[Tokenized] = []
        self.eval_rows: list[Tokenized] = []
        self.result: FitResult | None = None

    # -- what each recipe supplies ------------------------------------------------------------

    @abstractmethod
    def prepare_rows(self) -> tuple[list[Tokenized], list[Tokenized]]:
        """(train, eval) rows for the loaded tokenizer; raises DataError on bad data."""

    @abstractmethod
    def data_card(self) -> dict[str, Any]:
        """What the model card says about the data."""

    # -- setup -> fit -> validate ----------------------------------------------------------

    def setup(self) -> None:
        """Load the base model and tokenizer, render the data, wrap the model for the method."""
        from parley.engines.loading import load_causal_lm

        options = self.options
        if options.method not in METHODS:
            raise FinetuneError(f"unknown method {options.method!r}; choose {', '.join(METHODS)}")
        self.source = resolve_source(self.model_settings.source)
        settings = self.model_settings
        if options.method == "qlora":
            if not torch.cuda.is_available():
                raise FinetuneError(
                    "--method qlora trains on 4-bit weights (bitsandbytes) and needs a CUDA GPU; "
                    "none is visible: use --method lora (or full) on the CPU"
                )
            settings = settings.model_copy(update={"load_in": "4bit"})
        elif settings.load_in is not None:
            raise FinetuneError(
                f"model.load_in={settings.load_in} loads quantised weights, which only "
                "--method qlora can train; unset it or use --method qlora"
            )
        if settings.threads:
            torch.set_num_threads(settings.threads)
        torch.manual_seed(options.seed)
        self.model, self.tokenizer = load_causal_lm(settings, self.source, self.cache_dir)
        if getattr(self.model, "hf_quantizer", None) is not None and self.source.is_gguf:
            # First load of a GGUF file: reload the dequantised copy the loader just cached, a
            # plain model that peft can wrap and save_pretrained can write.
            self.model, self.tokenizer = load_causal_lm(settings, self.source, self.cache_dir)
        self.tokenizer.padding_side = "right"
        self.train_rows, self.eval_rows = self.prepare_rows()
        self.model = self._wrap(self.model)

    def _wrap(self, model: Any) -> Any:
        options = self.options
        if options.method == "full":
            model.train()
            return model
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        if options.method == "qlora":
            model = prepare_model_for_kbit_training(model)
        targets: str | list[str] = options.lora_targets
        if options.lora_targets == ["all-linear"]:
            targets = "all-linear"
        config = LoraConfig(
            r=options.lora_r,
            lora_alpha=options.lora_alpha,
            lora_dropout=options.lora_dropout,
            target_modules=targets,
            task_type="CAUSAL_LM",
        )
        try:
            return get_peft_model(model, config)
        except ValueError as exc:  # e.g. target modules not found
            raise FinetuneError(f"cannot apply LoRA: {exc}") from None

    def fit(self) -> FitResult:
        """Train with TRL's SFTTrainer; held-out loss is measured before and after."""
        from datasets import Dataset
        from trl import SFTConfig, SFTTrainer

        from parley.finetune.progress import RichProgress

        options = self.options
        on_gpu = torch.cuda.is_available()
        # transformers 5 renamed gradient checkpointing; TRL and peft still ask by the old name.
        warnings.filterwarnings(
            "ignore", message=r".*gradient_checkpointing.*", category=FutureWarning
        )
        args = SFTConfig(
            output_dir=str(self.out_dir / "checkpoints"),
            num_train_epochs=options.epochs,
            max_steps=options.max_steps if options.max_steps is not None else -1,
            learning_rate=options.learning_rate(),
            per_device_train_batch_size=options.batch_size,
            per_device_eval_batch_size=options.batch_size,
            gradient_accumulation_steps=options.grad_accum,
            lr_scheduler_type="linear",
            warmup_steps=0,
            logging_steps=1,
            eval_strategy="no",
            save_strategy="steps",
            save_steps=options.save_steps,
            save_total_limit=1,
            report_to="none",
            disable_tqdm=True,
            seed=options.seed,
            data_seed=options.seed,
            max_length=options.max_length,
            # Rows come tokenised with their labels (finetune.render): nothing to prepare.
            dataset_kwargs={"skip_prepare_dataset": True},
            remove_unused_columns=False,
            bf16=on_gpu and torch.cuda.is_bf16_supported() and self.model.dtype != torch.float32,
            use_cpu=not on_gpu,
            dataloader_pin_memory=on_gpu,
        )
        train = Dataset.from_list([r.as_row() for r in self.train_rows])
        held_out = (
            Dataset.from_list([r.as_row() for r in self.eval_rows]) if self.eval_rows else None
        )
        progress = RichProgress(self.console, description=f"{self.kind} {options.method}")
        trainer = SFTTrainer(
            model=self.model,
            args=args,
            train_dataset=train,
            eval_dataset=held_out,
            processing_class=self.tokenizer,
            callbacks=[progress],
        )
        for printer in _default_printers():  # the Rich bar replaces tqdm and the dict printer
            trainer.remove_callback(printer)
        before = _evaluate(trainer) if held_out is not None else {}
        resume = _latest_checkpoint(self.out_dir / "checkpoints") if options.resume else None
        if options.resume and resume is None:
            log.info("no checkpoint in %s: starting from the base model", self.out_dir)
        start = time.perf_counter()
        output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        seconds = time.perf_counter() - start
        after = _evaluate(trainer) if held_out is not None else {}
        self.model = trainer.model
        self.result = FitResult(
            steps=trainer.state.global_step,
            epochs=float(trainer.state.epoch or 0.0),
            seconds=seconds,
            train_loss=float(output.training_loss) if output.training_loss is not None else None,
            losses=progress.losses,
            eval_before=before,
            eval_after=after,
            peak_rss_mb=peak_rss_mb(),
            resumed_from_step=int(resume.name.split("-")[-1]) if resume else None,
        )
        return self.result

    def validate(self) -> dict[str, float]:
        """Held-out loss before and after, and the change; empty without held-out data."""
        result = self.result
        if result is None or not result.eval_before:
            return {}
        out = {
            "eval_loss_before": result.eval_before["eval_loss"],
            "eval_loss_after": result.eval_after["eval_loss"],
        }
        key = "eval_mean_token_accuracy"
        if key in result.eval_before and key in result.eval_after:
            out[f"{key}_before"] = result.eval_before[key]
            out[f"{key}_after"] = result.eval_after[key]
        return out

    def run(self, gguf: str | None = None) -> dict[str, Any]:
        """setup -> fit -> validate -> export; the manifest written next to the model."""
        from parley.finetune.export import export

        started = time.perf_counter()
        self.setup()
        self.fit()
        figures = self.validate()
        return export(self, figures, gguf=gguf, total_seconds=time.perf_counter() - started)


def _evaluate(trainer: Any) -> dict[str, float]:
    metrics = trainer.evaluate()
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}


def _default_printers() -> tuple[Any, ...]:
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    return (PrinterCallback, ProgressCallback)


def _latest_checkpoint(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    checkpoints = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(checkpoints, key=lambda p: int(p.name.split("-")[-1]), default=None)


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 1024, 1)


def perplexity(loss: float) -> float:
    return math.exp(loss) if loss < 50 else float("inf")
