import pytest

from parley.engines.base import EngineError, Turn
from parley.engines.formats import build_format
from parley.engines.generation import Generation
from parley.engines.params import GenerationParams
from tests.engines.json_person import PERSON_SCHEMA, assert_person

GREEDY = GenerationParams(temperature=0, max_new_tokens=24)


def ask(engine, question: str, params: GenerationParams) -> Generation:
    fmt = build_format("auto", engine, "You are a helpful assistant.")
    return Generation(engine, fmt.render([Turn("user", question)]), params, fmt.stop_words)


def test_chat_reply(llamacpp_engine):
    generation = ask(llamacpp_engine, "What is the capital of France?", GREEDY)
    assert "Paris" in generation.result()
    assert generation.finish_reason == "stop"
    assert generation.completion_tokens > 0


def test_streams_several_pieces(llamacpp_engine):
    params = GenerationParams(temperature=0, max_new_tokens=16)
    pieces = list(ask(llamacpp_engine, "Count from one to ten in words.", params))
    assert len(pieces) > 3


def test_same_seed_reproduces_and_other_seeds_vary(llamacpp_engine):
    params = GenerationParams(temperature=1.0, top_k=0, top_p=1.0, seed=1234, max_new_tokens=24)
    question = "Write one sentence about the sea."
    first = ask(llamacpp_engine, question, params).result()
    assert ask(llamacpp_engine, question, params).result() == first
    others = {ask(llamacpp_engine, question, params.updated(seed=s)).result() for s in range(5)}
    assert len(others) > 1


def test_token_limit_marks_the_reply_unfinished(llamacpp_engine):
    params = GenerationParams(temperature=0, max_new_tokens=3)
    generation = ask(llamacpp_engine, "Tell me a long story about dragons.", params)
    generation.result()
    assert generation.unfinished


def test_stop_word_cuts_the_reply(llamacpp_engine):
    full = ask(llamacpp_engine, "What is the capital of France?", GREEDY).result()
    assert "Paris" in full
    cut = ask(llamacpp_engine, "What is the capital of France?", GREEDY.updated(stop=["Paris"]))
    assert cut.result() == full[: full.index("Paris")].strip()
    assert cut.finish_reason == "stop"


def test_openchatkit_format_stops_at_human(llamacpp_engine):
    fmt = build_format("openchatkit", llamacpp_engine)
    prompt = fmt.render([Turn("user", "Say hello.")])
    text = Generation(llamacpp_engine, prompt, GREEDY.updated(max_new_tokens=64), fmt.stop_words)
    assert "<human>" not in text.result()


def test_batch_path(llamacpp_engine):
    fmt = build_format("auto", llamacpp_engine)
    prompts = [fmt.render([Turn("user", q)]) for q in ("Hi!", "What is 2+2?")]
    replies = llamacpp_engine.generate_batch(prompts, GREEDY)
    assert len(replies) == 2 and all(replies)


def test_prompt_longer_than_the_window_is_refused(llamacpp_engine):
    with pytest.raises(EngineError, match="exceeds the context window"):
        list(llamacpp_engine.stream("word " * 3000, GREEDY))


def test_json_output_follows_the_schema(llamacpp_engine):
    params = GenerationParams(temperature=0, max_new_tokens=60, json_schema=PERSON_SCHEMA)
    llamacpp_engine.check_params(params)
    assert_person(ask(llamacpp_engine, "Invent a person.", params).result())
    any_object = GenerationParams(temperature=0, max_new_tokens=80, json_schema={})
    text = ask(llamacpp_engine, "Describe a cat in JSON.", any_object).result()
    assert text.startswith("{")


def test_tools_are_called_through_the_grammar(llamacpp_engine):
    from parley.engines.tools import Tool, ToolCalling

    weather = Tool(
        "get_weather",
        "The weather in a city.",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    # One call: greedy SmolLM2 repeats the call until the token limit where it may make more.
    calling = ToolCalling((weather,), "required", parallel=False)
    params = GenerationParams(temperature=0, max_new_tokens=60, json_schema=calling.reply_schema())
    question = f"What is the weather in Oslo?\n\n{calling.instructions()}"
    reply = calling.parse(ask(llamacpp_engine, question, params).result())
    assert reply is not None and reply.calls
    assert reply.calls[0].name == "get_weather"
    assert isinstance(reply.calls[0].arguments["city"], str)


def test_what_it_cannot_do_is_refused(llamacpp_engine):
    from parley.engines.base import UnsupportedRequest

    broken = {"type": "object", "properties": {"a": {"$ref": "#/$defs/gone"}}}
    with pytest.raises(UnsupportedRequest, match="cannot be used"):
        llamacpp_engine.check_params(GenerationParams(json_schema=broken))
    with pytest.raises(UnsupportedRequest, match="logprobs"):
        llamacpp_engine.check_params(GenerationParams(logprobs=2))
