"""Conversations as token ids in the exact prompt format the server uses, loss on replies only.

Each assistant reply is trained on what the server's format (`engines.formats`) puts before
it: the prompt is rendered by the same `PromptFormat` object the server builds for the model,
so the tuned model sees at training time exactly what it will see when served. Prompt tokens
get a 0 in `completion_mask` (no loss), reply tokens a 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parley.engines.base import Turn
from parley.engines.formats import ChatTemplateFormat, OpenChatKitFormat, PromptFormat
from parley.engines.sources import ModelSource
from parley.finetune.data import Conversation, DataError


@dataclass(frozen=True)
class Tokenized:
    """One training sequence: ids, and which of them the loss covers."""

    input_ids: list[int]
    completion_mask: list[int]

    def as_row(self) -> dict[str, list[int]]:
        """The trainer's row: labels are the ids, -100 where no loss is taken."""
        labels = [
            t if m else -100 for t, m in zip(self.input_ids, self.completion_mask, strict=True)
        ]
        return {"input_ids": self.input_ids, "labels": labels}


class TokenizerTemplate:
    """A tokenizer's chat template, as the chat-template format wants it (like an engine's)."""

    def __init__(self, tokenizer: Any, source: ModelSource) -> None:
        self.tokenizer = tokenizer
        self.source = source

    @property
    def chat_template(self) -> str | None:
        return getattr(self.tokenizer, "chat_template", None)

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        # The same call as TransformersEngine.apply_chat_template.
        return str(
            self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            )
        )

    def full_text(self, messages: Sequence[dict[str, str]]) -> str:
        """The conversation including its last reply (no generation cue after it)."""
        return str(
            self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=False
            )
        )


class ChatRenderer:
    """Turns conversations into `Tokenized` rows for one model and prompt format."""

    def __init__(
        self,
        tokenizer: Any,
        source: ModelSource,
        format_name: str,
        system_prompt: str | None,
        max_length: int,
    ) -> None:
        self.tokenizer = tokenizer
        self.template = TokenizerTemplate(tokenizer, source)
        self.format = self._build_format(format_name, system_prompt)
        self.max_length = max_length
        eos = tokenizer.eos_token
        self.eos_text: str | None = eos if isinstance(eos, str) and eos else None

    def _build_format(self, name: str, system_prompt: str | None) -> PromptFormat:
        # As engines.formats.build_format does for the server, on the tokenizer's template.
        name = ChatTemplateFormat.resolve(name, self.template)
        if name == ChatTemplateFormat.name:
            return ChatTemplateFormat(self.template, system_prompt)
        if name == OpenChatKitFormat.name:
            return OpenChatKitFormat()
        raise ValueError(f"unknown prompt format {name!r}; choose auto, openchatkit, chat-template")

    @property
    def format_name(self) -> str:
        return self.format.name

    def render_all(self, conversations: Sequence[Conversation]) -> list[Tokenized]:
        """All rows; DataError listing every conversation that cannot be rendered."""
        rows, problems = [], []
        for conversation in conversations:
            try:
                rows.append(self.render(conversation))
            except ValueError as exc:
                problems.append(f"{conversation.origin}: {exc}")
        if problems:
            raise DataError(problems)
        return rows

    def render(self, conversation: Conversation) -> Tokenized:
        prompt_format = self._format_for(conversation)
        turns = [Turn(m.role, m.text) for m in conversation.turns]  # type: ignore[arg-type]
        trained = [m.train for m in conversation.turns]
        ids: list[int] = []
        mask: list[int] = []
        covered = ""  # the text already turned into ids
        for index, turn in enumerate(turns):
            if turn.role != "assistant":
                continue
            prefix = prompt_format.render(turns[:index])
            if not prefix.startswith(covered):
                raise ValueError(
                    "the prompt format does not render earlier turns the same way in later "
                    "prompts, so replies cannot be trained in one sequence"
                )
            reply = self._reply_text(prompt_format, turns[: index + 1], prefix)
            prompt_ids = self._encode(prefix[len(covered) :], first=not ids)
            reply_ids = self._encode(reply, first=False)
            if index == len(turns) - 1 and not self._ends_with_eos(reply):
                reply_ids.append(self.tokenizer.eos_token_id)
            ids += prompt_ids + reply_ids
            mask += [0] * len(prompt_ids) + [int(trained[index])] * len(reply_ids)
            covered = prefix + reply
        if len(ids) > self.max_length:
            raise ValueError(
                f"{len(ids)} tokens in the {self.format.name} format, more than --max-length "
                f"{self.max_length}: raise --max-length or shorten the conversation"
            )
        return Tokenized(ids, mask)

    def _format_for(self, conversation: Conversation) -> PromptFormat:
        # One fixed clock per conversation: the OpenChatKit header is the same in every prefix.
        if isinstance(self.format, OpenChatKitFormat):
            if conversation.system is not None:
                raise ValueError(
                    "a system message needs the chat-template format; this model is trained "
                    "in the openchatkit format, which has none"
                )
            moment = datetime.now().astimezone()
            return OpenChatKitFormat(now=lambda: moment)
        if conversation.system is not None:
            return self.format.with_system_prompt(conversation.system)
        return self.format

    def _reply_text(self, prompt_format: PromptFormat, turns: Sequence[Turn], prefix: str) -> str:
        """What the format puts after `prefix` for the last (assistant) turn, with its end."""
        if isinstance(prompt_format, ChatTemplateFormat):
            full = self.template.full_text(prompt_format.messages(turns))
            if not full.startswith(prefix):
                raise ValueError(
                    "the chat template renders the conversation differently with the reply "
                    "than without it, so the reply's tokens cannot be told apart"
                )
            reply = full[len(prefix) :]
            # Train up to the end-of-turn token; what follows it belongs to the next prompt.
            if self.eos_text and self.eos_text in reply:
                reply = reply[: reply.index(self.eos_text) + len(self.eos_text)]
            return reply
        # OpenChatKit: the prompt ends with `<bot>:`, the reply line is ` {text}\n`.
        return f" {turns[-1].text}\n"

    def _ends_with_eos(self, text: str) -> bool:
        return bool(self.eos_text) and text.endswith(self.eos_text)  # type: ignore[arg-type]

    def _encode(self, text: str, first: bool) -> list[int]:
        if not text:
            return []
        # As the engines encode a prompt: special tokens (a BOS) only at the very start, and
        # not when the rendered text already starts with the BOS.
        bos = self.tokenizer.bos_token
        add_special = first and not (bos and text.startswith(bos))
        return list(self.tokenizer(text, add_special_tokens=add_special)["input_ids"])


def pair_row(tokenizer: Any, prompt: str, completion: str, max_length: int) -> Tokenized:
    """A raw prompt/completion pair (the moderation recipe), encoded like the moderator does."""
    prompt_ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    completion_ids = list(tokenizer(completion, add_special_tokens=False)["input_ids"])
    ids = prompt_ids + completion_ids
    if len(ids) > max_length:
        raise ValueError(f"{len(ids)} tokens, more than --max-length {max_length}")
    return Tokenized(ids, [0] * len(prompt_ids) + [1] * len(completion_ids))
