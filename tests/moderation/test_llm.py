"""The llm moderator: exact GPT-JT-Moderation prompt, and label choice by likelihood."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from parley.moderation.labels import PROMPT_ORDER, Label
from parley.moderation.llm import LLMModerator, build_prompt, label_continuation


def test_prompt_is_exactly_gpt_jt_format():
    few_shot = [("hi there", Label.CASUAL), ("I will hurt him", Label.NEEDS_INTERVENTION)]
    assert build_prompt("how are you?", few_shot) == (
        "Possible labels:\n1. casual\n2. needs caution\n3. needs intervention\n"
        "4. possibly needs caution\n5. probably needs caution\n\n"
        "Input: hi there\nOutput: casual\n\n"
        "Input: I will hurt him\nOutput: needs intervention\n\n"
        "Input: how are you?\nOutput:"
    )


def test_prompt_without_few_shot():
    assert build_prompt("x").endswith("5. probably needs caution\n\nInput: x\nOutput:")


class CharTokenizer:
    """One token per character (ids = code points), enough to script a model by text."""

    pad_token_id = 0

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}


class ScriptedLM(torch.nn.Module):
    """A fake causal LM: after `Output:` it prefers the characters of one chosen label."""

    def __init__(self, favourite: Label, vocab: int = 0x3000):
        super().__init__()
        self.favourite = label_continuation(favourite)
        self.vocab = vocab
        self.weight = torch.nn.Parameter(torch.zeros(1))  # gives the model a device
        self.calls = 0

    def forward(self, input_ids, attention_mask, logits_to_keep=0):
        self.calls += 1
        batch, length = input_ids.shape
        logits = torch.zeros(batch, length, self.vocab)
        for b in range(batch):
            text = "".join(chr(i) for i in input_ids[b].tolist())
            start = text.rindex("Output:") + len("Output:")
            for pos in range(start - 1, length - 1):
                offset = pos - start + 1
                if offset < len(self.favourite):
                    logits[b, pos, ord(self.favourite[offset])] = (
                        30.0  # near-certain, whatever the label length
                    )
        if logits_to_keep:
            logits = logits[:, -logits_to_keep:]
        return SimpleNamespace(logits=logits)


@pytest.mark.parametrize("favourite", list(Label))
def test_scoring_picks_the_most_likely_label_with_a_scripted_model(favourite):
    model = ScriptedLM(favourite)
    moderator = LLMModerator(model, CharTokenizer(), [("hello", Label.CASUAL)])
    result = moderator.moderate("some text")
    assert result.label is favourite
    assert model.calls == 1  # the five continuations are scored in one batch
    assert sum(result.scores.values()) == pytest.approx(1.0)
    assert set(result.scores) == set(PROMPT_ORDER)


def test_scores_are_the_softmax_of_summed_log_likelihoods():
    moderator = LLMModerator(ScriptedLM(Label.NEEDS_CAUTION), CharTokenizer())
    loglik = moderator.log_likelihoods("text")
    result = moderator.moderate("text")
    top = max(loglik.values())
    z = sum(math.exp(v - top) for v in loglik.values())
    for label, value in loglik.items():
        assert result.scores[label] == pytest.approx(math.exp(value - top) / z)
    assert max(loglik, key=loglik.get) is Label.NEEDS_CAUTION


@pytest.fixture(scope="module")
def small_model():
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from parley.embedded import embedded_path

    path = embedded_path("smollm2-135m-instruct")
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    return model.eval(), tokenizer


@pytest.mark.slow
def test_real_small_model_picks_the_label_of_highest_likelihood(small_model):
    model, tokenizer = small_model
    moderator = LLMModerator(model, tokenizer, [("Nice weather today.", Label.CASUAL)])
    text = "Can you recommend a good pasta recipe?"
    loglik = moderator.log_likelihoods(text)
    result = moderator.moderate(text)
    assert result.label is max(loglik, key=loglik.get)
    assert sum(result.scores.values()) == pytest.approx(1.0)

    # Cross-check the batched, right-padded scoring against scoring each label on its own.
    prompt_ids = tokenizer(moderator.prompt(text), add_special_tokens=False)["input_ids"]
    for label in Label:
        cont = tokenizer(label_continuation(label), add_special_tokens=False)["input_ids"]
        ids = torch.tensor([prompt_ids + cont])
        with torch.inference_mode():
            logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
        expected = sum(
            float(logprobs[len(prompt_ids) - 1 + i, token]) for i, token in enumerate(cont)
        )
        assert loglik[label] == pytest.approx(expected, abs=1e-3)
