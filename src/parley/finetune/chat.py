"""The chat recipe: conversations in the server's prompt format, loss on the replies."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from parley.finetune.data import Conversation, Dataset, read_dataset, split_holdout
from parley.finetune.options import FinetuneOptions
from parley.finetune.render import ChatRenderer, Tokenized
from parley.finetune.trainer import Recipe

if TYPE_CHECKING:
    from rich.console import Console

    from parley.config import ModelSettings


class ChatRecipe(Recipe):
    """Tune the chat model on conversations (any reader of `finetune.data`)."""

    kind = "chat"

    def __init__(
        self,
        model_settings: ModelSettings,
        data: Path,
        out_dir: Path,
        options: FinetuneOptions,
        *,
        eval_data: Path | None = None,
        eval_split: float | None = None,
        cache_dir: Path | None = None,
        console: Console | None = None,
    ) -> None:
        super().__init__(model_settings, out_dir, options, cache_dir, console)
        if eval_data is not None and eval_split is not None:
            raise ValueError("give --eval DATA or --eval-split, not both")
        # Read (and check) the data before the model loads: bad rows fail in a second.
        self.dataset: Dataset = read_dataset(data)
        self.eval_dataset: Dataset | None = read_dataset(eval_data) if eval_data else None
        self.eval_split = eval_split
        self.train_conversations: list[Conversation] = self.dataset.conversations
        self.eval_conversations: list[Conversation] = (
            self.eval_dataset.conversations if self.eval_dataset else []
        )
        if eval_split is not None:
            self.train_conversations, self.eval_conversations = split_holdout(
                self.dataset.conversations, eval_split, options.seed
            )
        self.format_name: str = model_settings.format
        self.system_prompt: str | None = model_settings.system_prompt
        self.renderer: ChatRenderer | None = None
        self.train_tokens = 0

    def prepare_rows(self) -> tuple[list[Tokenized], list[Tokenized]]:
        assert self.source is not None
        self.renderer = ChatRenderer(
            self.tokenizer,
            self.source,
            self.model_settings.format,
            self.model_settings.system_prompt,
            self.options.max_length,
        )
        self.format_name = self.renderer.format_name
        if self.format_name != "chat-template":
            self.system_prompt = None
        train = self.renderer.render_all(self.train_conversations)
        held_out = self.renderer.render_all(self.eval_conversations)
        self.train_tokens = sum(len(r.input_ids) for r in train)
        return train, held_out

    def data_card(self) -> dict[str, Any]:
        card: dict[str, Any] = {
            "file": str(self.dataset.path),
            "sha256": self.dataset.sha256,
            "bytes": self.dataset.path.stat().st_size,
            "conversations": len(self.dataset.conversations),
            "train_conversations": len(self.train_conversations),
            "train_tokens": self.train_tokens,
        }
        if self.eval_dataset is not None:
            card |= {
                "eval_file": str(self.eval_dataset.path),
                "eval_sha256": self.eval_dataset.sha256,
                "eval_conversations": len(self.eval_conversations),
            }
        elif self.eval_split is not None:
            card |= {
                "eval_split": self.eval_split,
                "eval_conversations": len(self.eval_conversations),
            }
        return card
