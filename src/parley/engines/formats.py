"""Prompt formats: a conversation plus retrieved context becomes one prompt string.

`openchatkit` is the exact format of GPT-NeoXT-Chat-Base-20B and its family; `chat-template`
uses the model's own template. History is trimmed, oldest turns first, to fit the window.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Literal, Protocol

from parley.engines.base import ChatEngine, Turn
from parley.engines.sources import ModelSource
from parley.registry import Registry, Shared

CONTEXT_INSTRUCTIONS = (
    "Answer using the numbered passages below when they are relevant, and cite them like [1]."
)
"""Instructions above the context block when it goes into the system message."""

QUESTION_INSTRUCTIONS = "Answer the question using the passages above, and cite them like [1]."
"""Instructions between the context block and the question when both go into the user's
message (the `user` context placement)."""

ContextPlacement = Literal["user", "system"]


class TemplateRenderer(Protocol):
    """What the chat-template format needs of a model: its template (a chat engine, or the
    fine-tuning recipe's tokenizer)."""

    source: ModelSource

    @property
    def chat_template(self) -> str | None: ...

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str: ...


class PromptTooLong(ValueError):
    """Even the newest message alone does not fit the model's context window."""


class PromptFormat(ABC):
    """Renders turns (ending with the user's) and optional context into a prompt."""

    name: ClassVar[str]
    stop_words: tuple[str, ...] = ()
    """Text that ends the reply when the model generates it."""

    @abstractmethod
    def render(self, turns: Sequence[Turn], context: str | None = None) -> str:
        """The prompt for `turns`, ending where the bot's reply starts."""

    def with_system_prompt(self, system_prompt: str) -> PromptFormat:
        """This format with another system prompt (itself when the format has none)."""
        return self


@dataclass(frozen=True)
class FormatSettings:
    """What a prompt format is configured with."""

    system_prompt: str | None = None
    context_placement: ContextPlacement = "user"


def _local_now() -> datetime:
    return datetime.now().astimezone()


class OpenChatKitFormat(PromptFormat):
    """`<human>:`/`<bot>:` turns under a date header; context is an extra human turn."""

    name = "openchatkit"
    stop_words = ("<human>",)

    def __init__(self, now: Callable[[], datetime] = _local_now) -> None:
        self.now = now

    @classmethod
    def from_settings(cls, settings: FormatSettings, *, shared: Shared) -> OpenChatKitFormat:
        return cls()

    def header(self) -> str:
        moment = self.now()
        return (
            f"Current Date: {moment.strftime('%Y-%m-%d')}\n"
            f"Current Time: {moment.strftime('%I:%M:%S %p')} {moment.strftime('%Z')}\n\n"
        )

    def render(self, turns: Sequence[Turn], context: str | None = None) -> str:
        _check_ends_with_user(turns)
        lines = [self.header()]
        for index, turn in enumerate(turns):
            if turn.role == "user":
                if context and index == len(turns) - 1:
                    lines.append(f"<human>: {context}\n")
                lines.append(f"<human>: {turn.text}\n")
            else:
                lines.append(f"<bot>: {turn.text}\n")
        lines.append("<bot>:")
        return "".join(lines)


class ChatTemplateFormat(PromptFormat):
    """The model's own chat template. The context block goes into the user's last message,
    before the question (`user`, the default), or into the system message (`system`)."""

    name = "chat-template"

    def __init__(
        self,
        engine: TemplateRenderer,
        system_prompt: str | None = None,
        context_placement: ContextPlacement = "user",
    ) -> None:
        if engine.chat_template is None:
            raise ValueError(
                f"model {engine.source.spec!r} has no chat template; use format 'openchatkit'"
            )
        self.engine = engine
        self.system_prompt = system_prompt
        self.context_placement = context_placement

    @classmethod
    def from_settings(cls, settings: FormatSettings, *, shared: Shared) -> ChatTemplateFormat:
        if shared.engine is None:
            raise ValueError("the chat-template format needs the engine whose template it uses")
        return cls(shared.engine, settings.system_prompt, settings.context_placement)

    def with_system_prompt(self, system_prompt: str) -> ChatTemplateFormat:
        return ChatTemplateFormat(self.engine, system_prompt, self.context_placement)

    @staticmethod
    def resolve(name: str, engine: TemplateRenderer) -> str:
        """The format `auto` stands for: the model's template when it has one."""
        if name == "auto":
            return ChatTemplateFormat.name if engine.chat_template else OpenChatKitFormat.name
        return name

    def render(self, turns: Sequence[Turn], context: str | None = None) -> str:
        _check_ends_with_user(turns)
        return self.engine.apply_chat_template(self.messages(turns, context))

    def messages(self, turns: Sequence[Turn], context: str | None = None) -> list[dict[str, str]]:
        """The template's input: the system message (prompt and context), then the turns."""
        system_parts = [self.system_prompt] if self.system_prompt else []
        if context and self.context_placement == "system":
            system_parts.append(f"{CONTEXT_INSTRUCTIONS}\n\n{context}")
        messages = (
            [{"role": "system", "content": "\n\n".join(system_parts)}] if system_parts else []
        )
        messages += [{"role": turn.role, "content": turn.text} for turn in turns]
        if context and self.context_placement == "user":
            # A small model answers from what it read last: passages, then what to do with
            # them, then the question right where its answer starts.
            question = messages[-1]["content"]
            messages[-1] = {
                "role": "user",
                "content": f"{context}\n\n{QUESTION_INSTRUCTIONS}\n\nQuestion: {question}",
            }
        return messages


FORMATS: Registry[FormatSettings, PromptFormat] = Registry(
    "prompt format",
    {
        OpenChatKitFormat.name: "parley.engines.formats:OpenChatKitFormat",
        ChatTemplateFormat.name: "parley.engines.formats:ChatTemplateFormat",
    },
)
"""Prompt format name (the `model.format` setting, besides `auto`) -> class."""


def build_format(
    name: str,
    engine: ChatEngine,
    system_prompt: str | None = None,
    context_placement: ContextPlacement = "user",
) -> PromptFormat:
    """The format called `name`; `auto` is the model's template when it has one."""
    name = ChatTemplateFormat.resolve(name, engine)
    return FORMATS.build(
        name, FormatSettings(system_prompt, context_placement), Shared(engine=engine)
    )


@dataclass(frozen=True)
class FittedPrompt:
    """A prompt that fits the window, and what had to be left out for it."""

    text: str
    turns: tuple[Turn, ...]
    dropped_turns: int
    context_dropped: bool
    tokens: int


def fit_prompt(
    prompt_format: PromptFormat,
    turns: Sequence[Turn],
    count_tokens: Callable[[str], int],
    budget: int,
    context: str | None = None,
) -> FittedPrompt:
    """Render `turns`, dropping the oldest ones (then the context) until `budget` tokens fit.

    Linear in the history: each turn is counted at most once, newest first, and only while
    the ones counted still fit; the prompt is then rendered from that start and checked, and
    each check that is over drops at least the excess from the front. A long history costs
    what the kept part costs, not a re-render per dropped turn.
    """
    if budget <= 0:
        raise PromptTooLong(
            "max_new_tokens leaves no room for the prompt in the context window; lower it"
        )
    _check_ends_with_user(turns)
    last = len(turns) - 1
    # What the newest message costs with the frame around it (header, markers, context).
    text = prompt_format.render(tuple(turns[last:]), context)
    tokens = count_tokens(text)
    if tokens > budget:
        if context:
            return _without_context(prompt_format, tuple(turns[last:]), count_tokens, budget, last)
        raise PromptTooLong(
            f"the message needs {tokens} tokens but only {budget} fit in the context window "
            "after reserving max_new_tokens; shorten the message or lower max_new_tokens"
        )
    # Walk back from the newest turn, counting each once, while the estimate still fits.
    costs: dict[int, int] = {}
    used = tokens
    start = last
    while start > 0:
        cost = count_tokens(turns[start - 1].text) + 1
        if used + cost > budget:
            break
        costs[start - 1] = cost
        used += cost
        start -= 1
    start = _user_start(turns, start)
    while True:
        kept = tuple(turns[start:])
        text = prompt_format.render(kept, context)
        tokens = count_tokens(text)
        if tokens <= budget or start == last:
            # start == last fitted above; the estimate can only be over with history kept.
            return FittedPrompt(text, kept, start, False, tokens)
        # The estimate was low (format markers): drop at least the excess, oldest first.
        excess = tokens - budget
        while start < last and excess > 0:
            excess -= costs.get(start, 1)
            start += 1
        start = _user_start(turns, start)


def _user_start(turns: Sequence[Turn], start: int) -> int:
    """The first user turn at or after `start`: history starts on a user turn, as the model
    saw it in training (the last turn is always the user's)."""
    while start < len(turns) - 1 and turns[start].role != "user":
        start += 1
    return start


def _without_context(
    prompt_format: PromptFormat,
    kept: tuple[Turn, ...],
    count_tokens: Callable[[str], int],
    budget: int,
    dropped: int,
) -> FittedPrompt:
    fitted = fit_prompt(prompt_format, kept, count_tokens, budget, context=None)
    return FittedPrompt(fitted.text, fitted.turns, dropped, True, fitted.tokens)


def _check_ends_with_user(turns: Sequence[Turn]) -> None:
    if not turns or turns[-1].role != "user":
        raise ValueError("a prompt needs the conversation to end with a user message")
