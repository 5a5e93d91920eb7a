"""The `llm` moderator: GPT-JT-Moderation's few-shot prompt, labels scored by likelihood.

No text is generated: each of the five label continuations is scored by its log-likelihood
after the prompt (all five in one batch), so the answer is always one of the labels, and
the scores turn into per-label probabilities with a softmax.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from parley.moderation.base import ModerationResult, Role
from parley.moderation.labels import PROMPT_ORDER, Label

if TYPE_CHECKING:
    from parley.moderation.settings import ModerationSettings
    from parley.registry import Shared

PROMPT_HEADER = "Possible labels:\n" + "".join(
    f"{i}. {label.value}\n" for i, label in enumerate(PROMPT_ORDER, start=1)
)
"""`Possible labels:\\n1. casual\\n2. needs caution\\n...5. probably needs caution\\n`."""


def build_prompt(text: str, few_shot: Sequence[tuple[str, Label]] = ()) -> str:
    """GPT-JT-Moderation's prompt, exactly: the label list, a blank line, few-shot blocks
    `Input: {text}\\nOutput: {label}\\n\\n`, then `Input: {text}\\nOutput:`."""
    blocks = "".join(f"Input: {t}\nOutput: {label.value}\n\n" for t, label in few_shot)
    return f"{PROMPT_HEADER}\n{blocks}Input: {text}\nOutput:"


def label_continuation(label: Label) -> str:
    """What follows `Output:` for `label`; the blank line ends the answer, so a label is not
    rewarded for being the prefix of a longer answer the model would rather give. It is the
    blank line that ends each few-shot block, so it tokenises as the model saw it there."""
    return f" {label.value}\n\n"


class LLMModerator:
    """Scores the five labels with any causal LM (`model(input_ids, attention_mask).logits`)."""

    name: ClassVar[str] = "llm"

    def __init__(
        self, model: Any, tokenizer: Any, few_shot: Sequence[tuple[str, Label]] = ()
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.few_shot = list(few_shot)
        self._label_ids = {label: self._encode(label_continuation(label)) for label in PROMPT_ORDER}

    @classmethod
    def from_settings(cls, settings: ModerationSettings, *, shared: Shared) -> LLMModerator:
        """Load `settings.llm_model` through the chat engines' model loading."""
        from parley.engines.loading import load_causal_lm
        from parley.engines.settings import ModelSettings

        model_settings = ModelSettings(source=settings.llm_model, **settings.llm_model_options)
        model, tokenizer = load_causal_lm(model_settings, cache_dir=shared.folder("models"))
        few_shot = [(e.text, e.label) for e in settings.few_shot]
        return cls(model, tokenizer, few_shot)

    def prompt(self, text: str) -> str:
        return build_prompt(text, self.few_shot)

    def log_likelihoods(self, text: str) -> dict[Label, float]:
        """Sum of token log-probabilities of each label continuation after the prompt."""
        prompt_ids = self._encode(self.prompt(text))
        conts = [self._label_ids[label] for label in PROMPT_ORDER]
        longest = max(len(c) for c in conts)
        pad = self.tokenizer.pad_token_id
        pad = 0 if pad is None else pad
        rows, masks = [], []
        for cont in conts:
            # Right padding keeps the shared prompt at the same positions in every row.
            filler = longest - len(cont)
            rows.append(prompt_ids + cont + [pad] * filler)
            masks.append([1] * (len(prompt_ids) + len(cont)) + [0] * filler)
        device = _device_of(self.model)
        input_ids = torch.tensor(rows, device=device)
        attention = torch.tensor(masks, device=device)
        # Only the logits that predict label tokens are needed (positions P-1 .. end-1); the
        # full (5, length, vocabulary) tensor would be hundreds of MB for a long prompt.
        keep = longest + 1
        with torch.inference_mode():
            try:
                logits = self.model(
                    input_ids=input_ids, attention_mask=attention, logits_to_keep=keep
                ).logits
            except TypeError:  # models without logits_to_keep
                logits = self.model(input_ids=input_ids, attention_mask=attention).logits
            logits = logits[:, -keep:, :].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        scores: dict[Label, float] = {}
        for row, (label, cont) in enumerate(zip(PROMPT_ORDER, conts, strict=True)):
            targets = torch.tensor(cont, device=logprobs.device)
            picked = logprobs[row, torch.arange(len(cont)), targets]
            scores[label] = float(picked.sum())
        return scores

    def moderate(self, text: str, role: Role = "user") -> ModerationResult:
        loglik = self.log_likelihoods(text)
        top = max(loglik.values())
        total = sum(math.exp(v - top) for v in loglik.values())
        return ModerationResult.from_scores(
            {label: math.exp(v - top) / total for label, v in loglik.items()}
        )

    def moderate_many(self, texts: Sequence[str], role: Role = "user") -> list[ModerationResult]:
        return [self.moderate(text, role) for text in texts]

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])


def _device_of(model: Any) -> torch.device:
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration, TypeError):
        return torch.device("cpu")
