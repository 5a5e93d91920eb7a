from __future__ import annotations

import pytest

from parley.engines.citations import CitationFilter, cited_numbers, keep_real_marks


def test_marks_for_missing_sources_are_removed_with_their_space():
    assert keep_real_marks("Paris [1] is in France [4].", 3) == "Paris [1] is in France."
    assert keep_real_marks("See [1, 4] and [2-5].", 3) == "See [1] and [2, 3]."
    assert keep_real_marks("[7] Nothing here [0].", 3) == " Nothing here."
    assert keep_real_marks("Anything [1].", 0) == "Anything."


def test_code_indexes_and_other_brackets_are_not_marks():
    text = "Use items[4] or x = [1, 2] + f(a)[9]; [note] [12a]"
    assert keep_real_marks(text, 0) == text.replace("x = [1, 2]", "x =")
    assert cited_numbers("1-3") == [1, 2, 3] and cited_numbers("2, 5") == [2, 5]


@pytest.mark.parametrize("reply", ["Paris [1] is in France [4].", "A [12] b [2][3] c [", "[3]"])
def test_streaming_gives_the_same_text_however_the_reply_is_split(reply):
    expected = keep_real_marks(reply, 2)
    for size in (1, 2, 3, 5):
        pieces = [reply[i : i + size] for i in range(0, len(reply), size)]
        citations = CitationFilter(2)
        shown = [citations.feed(piece) for piece in pieces]
        assert "".join(shown) + citations.flush() == expected
        # nothing invented is ever shown, even for a moment
        assert "[4]" not in "".join(shown) and "[12]" not in "".join(shown)


def test_held_back_text_that_is_no_mark_is_released():
    citations = CitationFilter(3)
    assert citations.feed("value [abc") == "value [abc"
    assert citations.feed(" and [") == " and"
    assert citations.feed("x]") == " [x]"
    assert citations.flush() == ""


def test_a_bracket_right_after_a_word_stays_code_across_pieces():
    citations = CitationFilter(1)
    shown = citations.feed("items") + citations.feed("[4]") + citations.feed(" x [4]")
    assert shown + citations.flush() == "items[4] x"
