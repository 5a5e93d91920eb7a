"""What the terminal chat remembers between messages."""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.engines.base import Turn
from parley.engines.params import GenerationParams


@dataclass
class Conversation:
    """The turns so far (sent as the history of each request), the generation parameters and
    the last prompt sent to the model (for `/raw_prompt`)."""

    params: GenerationParams
    turns: list[Turn] = field(default_factory=list)
    last_prompt: str | None = None

    def record(self, message: str, reply: str) -> None:
        """Keep the exchange as the user saw it (a reply stopped early, or a refusal, too)."""
        self.turns += [Turn("user", message), Turn("assistant", reply)]

    def reset(self) -> None:
        self.turns.clear()
        self.last_prompt = None
