from __future__ import annotations

from collections import Counter

from parley.engines.params import GenerationParams
from parley.engines.repetition import banned_next_tokens


def test_banned_tokens_complete_an_ngram_already_in_the_reply():
    assert banned_next_tokens([1, 2, 3, 1, 2], 3) == {3}
    assert banned_next_tokens([1, 2, 3, 1, 2], 4) == set()
    assert banned_next_tokens([5, 5, 5], 2) == {5}
    assert banned_next_tokens([1, 2], 0) == set()


def _ngrams(tokens: list[int], n: int) -> Counter[tuple[int, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def test_greedy_reply_of_the_real_model_repeats_no_ngram(llamacpp_engine):
    # A prompt that makes greedy SmolLM2 repeat itself without the setting.
    prompt = llamacpp_engine.apply_chat_template(
        [{"role": "user", "content": "List the options of the rm command, one per line."}]
    )
    params = GenerationParams(temperature=0, max_new_tokens=120)
    plain = "".join(p.text for p in llamacpp_engine.stream(prompt, params))
    guarded = "".join(
        p.text for p in llamacpp_engine.stream(prompt, params.updated(no_repeat_ngram_size=4))
    )
    tokens = llamacpp_engine.llm.tokenize(guarded.encode(), add_bos=False, special=True)
    assert max(_ngrams(tokens, 4).values()) <= 2  # re-tokenising may merge a boundary
    assert guarded != plain or max(_ngrams(tokens, 4).values()) == 1
