from parley.engines.generation import Generation
from parley.engines.params import GenerationParams


def test_stop_word_split_across_streamed_pieces_cuts_the_reply(fake_engine):
    fake_engine.queue(" Paris", " is the capital.", "\n<", "hum", "an>: thanks")
    generation = Generation(fake_engine, "prompt", GenerationParams(), ("<human>",))
    shown = list(generation)
    assert "".join(shown) == "Paris is the capital.\n"
    assert generation.text == "Paris is the capital."
    assert generation.finish_reason == "stop"
    assert fake_engine.closed_early == 1  # the engine was told to stop generating


def test_user_stop_words_from_params(fake_engine):
    fake_engine.queue("one", " two", " three")
    generation = Generation(fake_engine, "p", GenerationParams(stop=[" tw"]))
    assert generation.result() == "one"


def test_reply_cut_by_the_token_limit_is_marked_unfinished(fake_engine):
    fake_engine.queue("a", " b", " c", " d")
    generation = Generation(fake_engine, "p", GenerationParams(max_new_tokens=2))
    assert generation.result() == "a b"
    assert generation.unfinished
    assert generation.completion_tokens == 2


def test_closing_early_cancels(fake_engine):
    fake_engine.queue("a", " b", " c")
    generation = Generation(fake_engine, "p", GenerationParams())
    iterator = iter(generation)
    assert next(iterator) == "a"
    generation.close()
    assert generation.finish_reason == "cancelled"


def test_cleanup_tokens_never_show(fake_engine):
    fake_engine.queue("Hi", "<pad>", " there", "</s>")
    assert Generation(fake_engine, "p", GenerationParams()).result() == "Hi there"
