from collections.abc import Iterable, Iterator

from parley.engines.stops import StopFilter


def filter_stream(pieces: Iterable[str], stop_filter: StopFilter) -> Iterator[str]:
    """What `Generation` does with a stop filter: feed pieces, end at a stop word, flush."""
    for piece in pieces:
        shown = stop_filter.feed(piece)
        if shown:
            yield shown
        if stop_filter.stopped:
            return
    tail = stop_filter.flush()
    if tail:
        yield tail


def run(pieces, stops=("<human>",), removals=("</s>", "<pad>", "<|endoftext|>")):
    stop_filter = StopFilter(stops, removals)
    shown = list(filter_stream(pieces, stop_filter))
    return shown, stop_filter


def test_plain_text_passes_through():
    shown, stop_filter = run(["Hello", " world", "!"])
    assert "".join(shown) == "Hello world!"
    assert not stop_filter.stopped


def test_stop_word_in_one_piece_cuts_the_reply():
    shown, stop_filter = run(["Paris is", " the capital.\n<human>: and", " more"])
    assert "".join(shown) == "Paris is the capital.\n"
    assert stop_filter.stopped and stop_filter.stop_word == "<human>"


def test_stop_word_split_across_pieces_never_leaks():
    shown, stop_filter = run(["Sure.", "\n<", "hu", "man", ">: next"])
    assert "".join(shown) == "Sure.\n"
    assert all("<" not in piece for piece in shown)
    assert stop_filter.stopped


def test_partial_stop_is_held_back_then_released_when_it_is_not_one():
    stop_filter = StopFilter(["<human>"])
    assert stop_filter.feed("a <") == "a "
    assert stop_filter.feed("hu") == ""
    assert stop_filter.feed("g") == "<hug"
    assert stop_filter.feed(" <h") == " "
    assert stop_filter.flush() == "<h"


def test_earliest_of_several_stop_words_wins():
    shown, stop_filter = run(["one END two STOP"], stops=("STOP", "END"))
    assert "".join(shown) == "one "
    assert stop_filter.stop_word == "END"


def test_special_tokens_are_removed_even_when_split():
    shown, _ = run(["Hi", "<|endo", "ftext|>", " there", "</", "s>"])
    assert "".join(shown) == "Hi there"


def test_pieces_after_stop_are_ignored():
    stop_filter = StopFilter(["X"])
    assert stop_filter.feed("aXb") == "a"
    assert stop_filter.feed("more") == ""
    assert stop_filter.flush() == ""
