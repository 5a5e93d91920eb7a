"""No-repeat n-grams over the reply only: the loop breaker both engines apply.

Greedy decoding of a small model falls into loops ("The -f option is used ...", again and
again). Forbidding any n-gram the reply already contains ends a loop at its first repeat.
Unlike transformers' own `no_repeat_ngram_size`, only the reply is looked at, not the prompt:
copying a name or a number from the retrieved passages is what a grounded answer does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def banned_next_tokens(generated: Sequence[int], n: int) -> set[int]:
    """Tokens that would complete an n-gram `generated` already contains."""
    if n <= 0 or len(generated) < n:
        return set()
    if n == 1:
        return set(generated)
    prefix = list(generated[len(generated) - n + 1 :])
    banned = set()
    for start in range(len(generated) - n + 1):
        if list(generated[start : start + n - 1]) == prefix:
            banned.add(int(generated[start + n - 1]))
    return banned


class NoRepeatNgramLlama:
    """llama-cpp-python logits processor: `(input_ids, scores) -> scores`, where input_ids
    are the prompt's tokens followed by the reply's."""

    def __init__(self, prompt_tokens: int, n: int) -> None:
        self.prompt_tokens = prompt_tokens
        self.n = n

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        banned = banned_next_tokens(input_ids[self.prompt_tokens :].tolist(), self.n)
        if banned:
            scores[list(banned)] = -float("inf")
        return scores


class NoRepeatNgramTorch:
    """transformers logits processor over a batch whose prompts (padded) are `prompt_width`
    tokens wide."""

    def __init__(self, prompt_width: int, n: int) -> None:
        self.prompt_width = prompt_width
        self.n = n

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row in range(input_ids.shape[0]):
            banned = banned_next_tokens(input_ids[row, self.prompt_width :].tolist(), self.n)
            if banned:
                scores[row, list(banned)] = -float("inf")
        return scores
