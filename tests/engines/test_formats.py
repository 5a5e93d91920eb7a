from datetime import UTC, datetime

import pytest

from parley.engines.base import Turn
from parley.engines.formats import (
    ChatTemplateFormat,
    OpenChatKitFormat,
    PromptTooLong,
    build_format,
    fit_prompt,
)

FIXED = datetime(2026, 11, 25, 21, 5, 3, tzinfo=UTC)


def ock() -> OpenChatKitFormat:
    return OpenChatKitFormat(now=lambda: FIXED)


def test_openchatkit_single_turn_golden():
    prompt = ock().render([Turn("user", "Hello, who are you?")])
    assert prompt == (
        "Current Date: 2026-11-25\n"
        "Current Time: 09:05:03 PM UTC\n"
        "\n"
        "<human>: Hello, who are you?\n"
        "<bot>:"
    )


def test_openchatkit_history_and_context_golden():
    turns = [
        Turn("user", "Hi"),
        Turn("assistant", "Hello! How can I help?"),
        Turn("user", "Who painted the Mona Lisa?"),
    ]
    prompt = ock().render(turns, context="Mona Lisa: a portrait by Leonardo da Vinci.")
    assert prompt == (
        "Current Date: 2026-11-25\n"
        "Current Time: 09:05:03 PM UTC\n"
        "\n"
        "<human>: Hi\n"
        "<bot>: Hello! How can I help?\n"
        "<human>: Mona Lisa: a portrait by Leonardo da Vinci.\n"
        "<human>: Who painted the Mona Lisa?\n"
        "<bot>:"
    )
    assert ock().stop_words == ("<human>",)


def test_openchatkit_morning_time_uses_am():
    morning = OpenChatKitFormat(now=lambda: datetime(2026, 1, 2, 0, 7, 9, tzinfo=UTC))
    assert morning.header() == "Current Date: 2026-01-02\nCurrent Time: 12:07:09 AM UTC\n\n"


def test_prompt_must_end_with_a_user_turn():
    with pytest.raises(ValueError, match="end with a user message"):
        ock().render([Turn("user", "a"), Turn("assistant", "b")])


def test_chat_template_puts_the_context_before_the_question_golden(fake_engine):
    fmt = ChatTemplateFormat(fake_engine, "Be brief.")
    turns = [Turn("user", "Hi"), Turn("assistant", "Hello!"), Turn("user", "Q?")]
    prompt = fmt.render(turns, context="[1] Doc\nText")
    assert prompt == (
        "[system] Be brief.\n"
        "[user] Hi\n"
        "[assistant] Hello!\n"
        "[user] [1] Doc\nText\n\n"
        "Answer the question using the passages above, and cite them like [1].\n\n"
        "Question: Q?\n"
        "[assistant]"
    )
    assert (
        fmt.render(turns)
        == "[system] Be brief.\n[user] Hi\n[assistant] Hello!\n[user] Q?\n[assistant]"
    )


def test_chat_template_can_put_the_context_in_the_system_message(fake_engine):
    fmt = ChatTemplateFormat(fake_engine, "Be brief.", context_placement="system")
    prompt = fmt.render([Turn("user", "Q?")], context="[1] Doc\nText")
    assert prompt.startswith("[system] Be brief.\n\nAnswer using the numbered passages")
    assert "[1] Doc\nText" in prompt
    assert prompt.endswith("[user] Q?\n[assistant]")


def test_auto_picks_the_template_when_the_model_has_one(fake_engine):
    assert build_format("auto", fake_engine).name == "chat-template"
    assert build_format("openchatkit", fake_engine).name == "openchatkit"
    with pytest.raises(ValueError, match="unknown prompt format"):
        build_format("alpaca", fake_engine)


def words(text: str) -> int:
    return len(text.split())


def history(n: int) -> list[Turn]:
    turns: list[Turn] = []
    for i in range(n):
        turns += [Turn("user", f"question {i} " * 5), Turn("assistant", f"answer {i} " * 5)]
    return [*turns, Turn("user", "newest question")]


def test_trimming_keeps_the_newest_turns_and_fits_the_budget():
    turns = history(20)
    full = words(ock().render(turns))
    for budget in (full, full - 1, 120, 60, 20):
        fitted = fit_prompt(ock(), turns, words, budget)
        assert fitted.tokens <= budget
        assert fitted.turns == tuple(turns[fitted.dropped_turns :])
        assert fitted.turns[-1] == Turn("user", "newest question")
        assert fitted.turns[0].role == "user"
    assert fit_prompt(ock(), turns, words, full).dropped_turns == 0
    assert fit_prompt(ock(), turns, words, full - 1).dropped_turns == 2


def test_context_is_dropped_before_failing():
    turns = [Turn("user", "short question")]
    fitted = fit_prompt(ock(), turns, words, 12, context="passage " * 50)
    assert fitted.context_dropped
    assert "passage" not in fitted.text


def test_a_message_that_alone_is_too_long_gets_a_clear_error():
    with pytest.raises(PromptTooLong, match="shorten the message or lower max_new_tokens"):
        fit_prompt(ock(), [Turn("user", "word " * 100)], words, 50)
    with pytest.raises(PromptTooLong, match="no room"):
        fit_prompt(ock(), [Turn("user", "hi")], words, 0)


def test_trimming_with_the_real_tokenizer_never_exceeds_the_window(llamacpp_engine):
    fmt = build_format("auto", llamacpp_engine, "You are a helpful assistant.")
    turns = history(60)
    for budget in (1500, 700, 300):
        fitted = fit_prompt(fmt, turns, llamacpp_engine.count_tokens, budget)
        assert llamacpp_engine.count_tokens(fitted.text) <= budget
        assert fitted.turns[-1].text == "newest question"


def test_trimming_keeps_the_longest_suffix_that_fits():
    turns = history(30)
    for budget in range(20, words(ock().render(turns)) + 5, 7):
        fitted = fit_prompt(ock(), turns, words, budget)
        # Brute force: the earliest user-turn start whose prompt fits.
        best = next(
            start
            for start in range(len(turns))
            if turns[start].role == "user" and words(ock().render(turns[start:])) <= budget
        )
        assert fitted.dropped_turns == best, budget


def test_trimming_costs_what_the_kept_part_costs():
    counted: list[int] = []

    def counting(text: str) -> int:
        counted.append(len(text))
        return words(text)

    def cost(turn_pairs: int) -> int:
        counted.clear()
        fit_prompt(ock(), history(turn_pairs), counting, 200)
        return sum(counted)

    # 10x the history, the same work: each turn is counted once at most, and only the newest
    # ones that fit are counted at all (the old loop re-rendered everything per dropped turn).
    assert cost(1000) < 1.2 * cost(100)  # (longer numbers in the texts)
    assert cost(100) < 10 * len(ock().render(history(3)))
