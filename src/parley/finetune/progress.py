"""A Rich progress bar for training: steps, loss, learning rate and time left."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments


class RichProgress(TrainerCallback):
    """Replaces the trainer's tqdm bar: one line with step, loss and ETA."""

    def __init__(self, console: Console | None = None, description: str = "training") -> None:
        self.console = console or Console(stderr=True)
        self.description = description
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.losses: list[tuple[int, float]] = []
        """(step, training loss) as logged: the loss curve for the model card."""

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(
            self.description, total=state.max_steps, completed=state.global_step, loss="-"
        )

    def on_step_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if not logs or "loss" not in logs:
            return
        self.losses.append((state.global_step, float(logs["loss"])))
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, loss=f"{logs['loss']:.3f}")

    def on_train_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
