"""An in-memory conversation: turns, the prompt for the next reply, and the reply itself."""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.engines.base import ChatEngine, Turn
from parley.engines.formats import FittedPrompt, PromptFormat, fit_prompt
from parley.engines.generation import Generation
from parley.engines.params import GenerationParams


@dataclass
class Conversation:
    """Turns so far, and how to prompt the engine for the next reply."""

    engine: ChatEngine
    prompt_format: PromptFormat
    params: GenerationParams
    turns: list[Turn] = field(default_factory=list)
    last_prompt: str | None = None

    def prompt_for(self, message: str, context: str | None = None) -> FittedPrompt:
        """The prompt for answering `message`, trimmed to the context window."""
        budget = self.engine.context_window - self.params.max_new_tokens
        turns = [*self.turns, Turn("user", message)]
        return fit_prompt(self.prompt_format, turns, self.engine.count_tokens, budget, context)

    def reply(self, message: str, context: str | None = None) -> Generation:
        """Start the reply to `message`; call `record` with it once it is done."""
        prompt = self.prompt_for(message, context)
        self.last_prompt = prompt.text
        return Generation(self.engine, prompt.text, self.params, self.prompt_format.stop_words)

    def record(self, message: str, generation: Generation) -> None:
        """Keep the exchange (also a reply stopped early: it is what the user saw)."""
        self.turns += [Turn("user", message), Turn("assistant", generation.text)]

    def reset(self) -> None:
        self.turns.clear()
        self.last_prompt = None
