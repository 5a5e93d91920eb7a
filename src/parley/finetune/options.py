"""What `parley finetune` can be told (no heavy imports: the CLI loads this at start)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Method = Literal["lora", "qlora", "full"]
METHODS: tuple[Method, ...] = ("lora", "qlora", "full")

DEFAULT_LR = {"lora": 1e-3, "qlora": 1e-3, "full": 5e-5}
"""Common starting points for LoRA and full fine-tunes of small models. With LoRA's, the other
defaults (8 epochs, r 16, alpha 32, all linear layers, batch 4) recall 10 of 13 facts asked in
new words after 26 chats in benchmarks/finetune.py (README, Fine-tuning)."""


class FinetuneError(RuntimeError):
    """The fine-tune cannot run as asked; the message says why and what to do."""


@dataclass
class FinetuneOptions:
    """Everything `parley finetune` can be told, with its defaults."""

    method: Method = "lora"
    epochs: float = 8.0
    max_steps: int | None = None
    """Stop after this many optimizer steps (overrides epochs)."""
    lr: float | None = None
    """Learning rate; by method (DEFAULT_LR) when unset."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_targets: list[str] = field(default_factory=lambda: ["all-linear"])
    """Module names to adapt, or `all-linear`."""
    max_length: int = 1024
    batch_size: int = 4
    grad_accum: int = 1
    seed: int = 0
    resume: bool = False
    """Continue from the newest checkpoint in OUT/checkpoints."""
    save_steps: int = 50

    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.method]
