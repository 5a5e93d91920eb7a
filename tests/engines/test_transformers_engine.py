import logging
import threading
from pathlib import Path

import pytest

from parley.config import ModelSettings
from parley.engines import factory
from parley.engines.base import EngineError, Turn
from parley.engines.formats import build_format
from parley.engines.generation import Generation
from parley.engines.loading import quantization_config
from parley.engines.params import GenerationParams
from parley.engines.sources import resolve_source

GREEDY = GenerationParams(temperature=0, max_new_tokens=24)


def prompt_for(engine, question: str) -> str:
    return build_format("auto", engine, "You are a helpful assistant.").render(
        [Turn("user", question)]
    )


def test_chat_reply(transformers_engine):
    generation = Generation(
        transformers_engine,
        prompt_for(transformers_engine, "What is the capital of France?"),
        GREEDY,
    )
    assert "Paris" in generation.result()
    assert generation.finish_reason == "stop"


def test_greedy_matches_llama_cpp_on_the_same_gguf(transformers_engine, llamacpp_engine):
    question = "What is the capital of France?"
    ours = Generation(transformers_engine, prompt_for(transformers_engine, question), GREEDY)
    theirs = Generation(llamacpp_engine, prompt_for(llamacpp_engine, question), GREEDY)
    assert ours.result() == theirs.result()


def test_same_seed_reproduces(transformers_engine):
    params = GenerationParams(temperature=1.0, top_k=0, seed=7, max_new_tokens=20)
    prompt = prompt_for(transformers_engine, "Write one sentence about the sea.")
    first = Generation(transformers_engine, prompt, params).result()
    assert Generation(transformers_engine, prompt, params).result() == first
    others = {
        Generation(transformers_engine, prompt, params.updated(seed=s)).result() for s in range(4)
    }
    assert len(others) > 1


def test_concurrent_requests_batch_and_match_single_results(transformers_engine):
    questions = ["What is 2+2?", "Name a fruit.", "What color is the sky?", "Say hi."]
    prompts = [prompt_for(transformers_engine, q) for q in questions]
    singles = [Generation(transformers_engine, p, GREEDY).result() for p in prompts]
    results: dict[int, str] = {}

    def run(i: int) -> None:
        results[i] = Generation(transformers_engine, prompts[i], GREEDY).result()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [results[i] for i in range(len(prompts))] == singles
    assert transformers_engine.generate_batch(prompts, GREEDY) == singles


def test_rows_of_a_batch_stop_on_their_own_limits(transformers_engine):
    prompt = prompt_for(transformers_engine, "Tell me a long story about dragons.")
    short = GREEDY.updated(max_new_tokens=3)
    gens = [Generation(transformers_engine, prompt, p) for p in (short, GREEDY)]
    texts = [g.result() for g in gens]
    assert gens[0].unfinished and gens[0].completion_tokens == 3
    assert len(texts[1]) > len(texts[0])


def test_closing_a_stream_stops_generation(transformers_engine):
    prompt = prompt_for(transformers_engine, "Tell me a long story about dragons.")
    generation = Generation(transformers_engine, prompt, GREEDY.updated(max_new_tokens=500))
    pieces = iter(generation)
    next(pieces)
    generation.close()
    assert generation.finish_reason == "cancelled"
    # the engine is free again right away
    assert Generation(transformers_engine, prompt, GREEDY.updated(max_new_tokens=2)).result()


def test_prompt_longer_than_the_window_is_refused(transformers_engine):
    with pytest.raises(EngineError, match="exceeds the context window"):
        list(transformers_engine.stream("word " * 3000, GREEDY))


def test_quantised_loading_needs_a_gpu():
    if __import__("torch").cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(EngineError, match="needs a CUDA GPU"):
        quantization_config(ModelSettings(load_in="4bit"))


def test_gguf_falls_back_to_transformers_with_a_notice(monkeypatch, caplog):
    from parley.engines import llama_server

    monkeypatch.setattr(llama_server, "find_llama_server", lambda explicit: None)
    monkeypatch.setattr(factory, "llama_cpp_available", lambda: False)
    source = resolve_source("smollm2-135m-instruct")
    with caplog.at_level(logging.WARNING, logger="parley"):
        assert factory.choose_engine("auto", source) == "transformers"
    assert len(caplog.records) == 1
    assert "llama-cpp-python is not installed" in caplog.records[0].getMessage()


def test_auto_prefers_llama_server_then_llama_cpp_for_gguf(monkeypatch):
    pytest.importorskip("llama_cpp")
    from parley.engines import llama_server

    source = resolve_source("smollm2-135m-instruct")
    monkeypatch.setattr(llama_server, "find_llama_server", lambda explicit: Path("/bin/true"))
    assert factory.choose_engine("auto", source) == "llama-server"
    monkeypatch.setattr(llama_server, "find_llama_server", lambda explicit: None)
    assert factory.choose_engine("auto", source) == "llama.cpp"
