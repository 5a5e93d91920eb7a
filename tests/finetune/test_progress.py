"""The training progress callback writes plain lines when its console is not a terminal."""

from __future__ import annotations

import io

from rich.console import Console
from transformers import TrainerControl, TrainerState, TrainingArguments

from parley.finetune.progress import RichProgress


def test_plain_lines_into_a_file_every_tenth_of_the_run() -> None:
    sink = io.StringIO()
    progress = RichProgress(Console(file=sink, width=200), description="chat lora")
    args = TrainingArguments(output_dir="unused", use_cpu=True, report_to="none")
    state, control = TrainerState(global_step=0, max_steps=20), TrainerControl()
    progress.on_train_begin(args, state, control)
    for step in range(1, 21):
        state.global_step = step
        progress.on_step_end(args, state, control)
        progress.on_log(args, state, control, logs={"loss": 3.0 - step / 10})
    progress.on_train_end(args, state, control)
    lines = sink.getvalue().splitlines()
    assert len(lines) == 10 and lines[0].startswith("chat lora: step 2/20, loss 2.900")
    assert lines[-1].startswith("chat lora: step 20/20, loss 1.100") and "eta 0 s" in lines[-1]
    assert progress.losses[-1] == (20, 1.0)
