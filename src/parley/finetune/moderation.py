"""The moderation recipe: a causal LM tuned as a GPT-JT-Moderation-style moderator.

Each labelled text becomes the `llm` moderator's own prompt (the five-label header, the
configured few-shot blocks, `Input: {text}\\nOutput:`) and the completion ` {label}\\n\\n` it
scores, so the tuned model is loaded unchanged with `moderation.moderator = "llm"` and
`moderation.llm_model = OUT`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parley.finetune.data import DataError, file_sha256
from parley.finetune.options import FinetuneOptions
from parley.finetune.render import Tokenized, pair_row
from parley.finetune.trainer import Recipe
from parley.moderation.data import DataError as LabelDataError
from parley.moderation.data import Example, load_examples
from parley.moderation.labels import Label
from parley.moderation.llm import build_prompt, label_continuation

if TYPE_CHECKING:
    from rich.console import Console

    from parley.config import ModelSettings


def stratified_subset(examples: list[Example], size: int | None, seed: int) -> list[Example]:
    """At most `size` examples with the labels in their original proportions (seeded)."""
    if size is None or size >= len(examples):
        return list(examples)
    by_label: dict[Label, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    rng = random.Random(seed)
    chosen: list[Example] = []
    for label in sorted(by_label):
        group = by_label[label]
        rng.shuffle(group)
        chosen.extend(group[: max(1, round(size * len(group) / len(examples)))])
    rng.shuffle(chosen)
    return chosen[:size]


def load_labelled(path: Path) -> list[Example]:
    try:
        return load_examples(path)
    except LabelDataError as exc:
        raise DataError([str(exc)]) from None


class ModerationRecipe(Recipe):
    """Tune a causal LM to answer the moderation prompt with the right label."""

    kind = "moderation"

    def __init__(
        self,
        model_settings: ModelSettings,
        data: Path,
        out_dir: Path,
        options: FinetuneOptions,
        *,
        few_shot: list[tuple[str, Label]],
        eval_data: Path | None = None,
        limit: int | None = None,
        eval_limit: int | None = None,
        cache_dir: Path | None = None,
        console: Console | None = None,
    ) -> None:
        super().__init__(model_settings, out_dir, options, cache_dir, console)
        self.data = data
        self.eval_data = eval_data
        self.few_shot = few_shot
        self.all_examples = load_labelled(data)
        self.examples = stratified_subset(self.all_examples, limit, options.seed)
        self.eval_examples = (
            stratified_subset(load_labelled(eval_data), eval_limit, options.seed)
            if eval_data
            else []
        )
        self.format_name = "gpt-jt-moderation"
        self.limit = limit

    def prepare_rows(self) -> tuple[list[Tokenized], list[Tokenized]]:
        return self._rows(self.examples, self.data), self._rows(
            self.eval_examples, self.eval_data or self.data
        )

    def _rows(self, examples: list[Example], path: Path) -> list[Tokenized]:
        rows, problems = [], []
        for example in examples:
            prompt = build_prompt(example.text, self.few_shot)
            try:
                rows.append(
                    pair_row(
                        self.tokenizer,
                        prompt,
                        label_continuation(example.label),
                        self.options.max_length,
                    )
                )
            except ValueError as exc:
                problems.append(f"{path}: {example.text[:40]!r}: {exc}")
        if problems:
            raise DataError(problems)
        return rows

    def data_card(self) -> dict[str, Any]:
        counts: dict[str, int] = defaultdict(int)
        for example in self.examples:
            counts[example.label.value] += 1
        card: dict[str, Any] = {
            "file": str(self.data),
            "sha256": file_sha256(self.data),
            "examples_in_file": len(self.all_examples),
            "examples_trained": len(self.examples),
            "labels": dict(counts),
            "few_shot_blocks": len(self.few_shot),
        }
        if self.eval_data is not None:
            card |= {"eval_file": str(self.eval_data), "eval_examples": len(self.eval_examples)}
        return card
