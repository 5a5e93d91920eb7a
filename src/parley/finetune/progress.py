"""A Rich progress bar for training: steps, loss, learning rate and time left."""

from __future__ import annotations

import time
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
    """Replaces the trainer's tqdm bar: one line with step, loss and ETA.

    Rich draws a bar only on a terminal; into a file or a pipe (a long run under nohup or in CI)
    it writes a plain line every tenth of the run instead, so a log shows how far it got.
    """

    def __init__(self, console: Console | None = None, description: str = "training") -> None:
        self.console = console or Console(stderr=True)
        self.description = description
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.losses: list[tuple[int, float]] = []
        """(step, training loss) as logged: the loss curve for the model card."""
        self._started = 0.0
        self._first_step = 0

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        self._started = time.perf_counter()
        self._first_step = state.global_step  # not 0 on --resume
        if not self.console.is_terminal:
            return
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
        else:
            self._plain_line(state)

    def _plain_line(self, state: TrainerState) -> None:
        step, total = state.global_step, state.max_steps
        if step != total and step % max(1, total // 10) != 0:
            return
        elapsed = time.perf_counter() - self._started
        done = step - self._first_step
        eta = elapsed / done * (total - step) if done > 0 else float("nan")
        loss = f"{self.losses[-1][1]:.3f}" if self.losses else "-"
        self.console.print(
            f"{self.description}: step {step}/{total}, loss {loss}, {elapsed:.0f} s, "
            f"eta {eta:.0f} s",
            highlight=False,
        )

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
