"""Rendering in the server's exact prompt format, loss on the assistant's tokens only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from parley.engines.base import Turn
from parley.engines.formats import build_format
from parley.engines.sources import resolve_source
from parley.finetune.data import Conversation, DataError, Message
from parley.finetune.render import ChatRenderer, TokenizerTemplate, pair_row

pytestmark = pytest.mark.slow

SYSTEM = "You are a helpful assistant."


@pytest.fixture(scope="module")
def tokenizer(model_cache: Path) -> Any:
    from parley.config import ModelSettings
    from parley.engines.loading import load_causal_lm

    _, tokenizer = load_causal_lm(ModelSettings(), cache_dir=model_cache / "models")
    return tokenizer


def _conversation(*messages: Message) -> Conversation:
    return Conversation(tuple(messages), "test.jsonl:1")


def _spans(tokenizer: Any, ids: list[int], mask: list[int]) -> tuple[str, list[str]]:
    """(the text of the masked-out tokens, the trained stretches as text)."""
    prompt = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if not m])
    stretches, current = [], []
    for token, trained in zip(ids, mask, strict=True):
        if trained:
            current.append(token)
        elif current:
            stretches.append(tokenizer.decode(current))
            current = []
    if current:
        stretches.append(tokenizer.decode(current))
    return prompt, stretches


def test_chat_template_prompt_is_the_servers_and_loss_covers_replies(tokenizer: Any) -> None:
    source = resolve_source("smollm2-135m-instruct")
    renderer = ChatRenderer(tokenizer, source, "auto", SYSTEM, max_length=512)
    assert renderer.format_name == "chat-template"
    conversation = _conversation(
        Message("user", "Hi"),
        Message("assistant", "Hello!"),
        Message("user", "Price?"),
        Message("assistant", "2,490 euros."),
    )
    row = renderer.render(conversation)
    prompt, replies = _spans(tokenizer, row.input_ids, row.completion_mask)
    assert replies == ["Hello!<|im_end|>", "2,490 euros.<|im_end|>"]
    # The tokens before the last reply are exactly the prompt the server sends for that turn.
    server_format = build_format("auto", TokenizerTemplate(tokenizer, source), SYSTEM)
    server_prompt = server_format.render(
        [Turn("user", "Hi"), Turn("assistant", "Hello!"), Turn("user", "Price?")]
    )
    last_reply_start = len(row.input_ids) - len(tokenizer("2,490 euros.<|im_end|>")["input_ids"])
    assert tokenizer.decode(row.input_ids[:last_reply_start]) == server_prompt
    assert prompt.startswith(f"<|im_start|>system\n{SYSTEM}<|im_end|>")


def test_weight_zero_and_own_system_prompt(tokenizer: Any) -> None:
    renderer = ChatRenderer(
        tokenizer, resolve_source("smollm2-135m-instruct"), "auto", SYSTEM, max_length=512
    )
    row = renderer.render(
        _conversation(
            Message("system", "Answer like a pirate."),
            Message("user", "Hi"),
            Message("assistant", "Hello!", train=False),
            Message("user", "Bye"),
            Message("assistant", "Arr."),
        )
    )
    prompt, replies = _spans(tokenizer, row.input_ids, row.completion_mask)
    assert replies == ["Arr.<|im_end|>"]
    assert "Answer like a pirate." in prompt and SYSTEM not in prompt
    assert "Hello!<|im_end|>" in prompt


def test_openchatkit_format(tokenizer: Any) -> None:
    renderer = ChatRenderer(
        tokenizer, resolve_source("smollm2-135m-instruct"), "openchatkit", None, max_length=512
    )
    row = renderer.render(_conversation(Message("user", "Hi"), Message("assistant", "Hello!")))
    prompt, replies = _spans(tokenizer, row.input_ids, row.completion_mask)
    assert prompt.startswith("Current Date: ") and prompt.endswith("\n\n<human>: Hi\n<bot>:")
    assert replies == [" Hello!\n<|im_end|>"]  # the reply line, then end of text
    with pytest.raises(DataError, match=r"test.jsonl:1: a system message needs"):
        renderer.render_all(
            [_conversation(Message("system", "x"), Message("user", "a"), Message("assistant", "b"))]
        )


def test_too_long_is_an_error_not_a_truncation(tokenizer: Any) -> None:
    renderer = ChatRenderer(
        tokenizer, resolve_source("smollm2-135m-instruct"), "auto", SYSTEM, max_length=32
    )
    long = _conversation(Message("user", "word " * 40), Message("assistant", "ok"))
    with pytest.raises(DataError, match=r"test.jsonl:1: \d+ tokens .* more than --max-length 32"):
        renderer.render_all([long])
    row = pair_row(tokenizer, "Input: hi\nOutput:", " casual\n\n", max_length=64)
    assert tokenizer.decode(
        [t for t, m in zip(row.input_ids, row.completion_mask, strict=True) if m]
    ) == (" casual\n\n")
