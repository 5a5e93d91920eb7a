"""The `openai` engine against a real llama.cpp server it does not manage."""

from __future__ import annotations

import json
import time

import pytest

from parley.config import ModelSettings, Settings
from parley.engines.base import EngineError, EngineUnavailable, Turn
from parley.engines.factory import build_engine
from parley.engines.formats import build_format
from parley.engines.generation import Generation
from parley.engines.local_tokenizer import GgufTokenizer
from parley.engines.params import GenerationParams
from parley.engines.sources import resolve_source
from parley.server.child import free_port
from parley.service import ChatRequest
from tests.engines.json_person import PERSON_SCHEMA, assert_person

GREEDY = GenerationParams(temperature=0, max_new_tokens=24)


@pytest.fixture(scope="module")
def remote(bare_llama_server):
    engine = build_engine(ModelSettings(engine="openai", base_url=f"{bare_llama_server.url}/v1"))
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def local_vocab() -> GgufTokenizer:
    return GgufTokenizer(resolve_source("smollm2-135m-instruct"))


def ask(engine, question: str, params: GenerationParams) -> Generation:
    fmt = build_format("auto", engine, "You are a helpful assistant.")
    return Generation(engine, fmt.render([Turn("user", question)]), params, fmt.stop_words)


def test_discovers_the_model_its_window_and_template(remote, local_vocab):
    assert remote.info.kind == "llama.cpp"
    assert remote.context_window == 2048  # the server's per-slot window
    assert remote.chat_template == local_vocab.chat_template


def test_counts_tokens_with_the_servers_tokenizer(remote, local_vocab):
    for text in ["hello world", "<|im_start|>user\nHi<|im_end|>", "Ünïcödé — 東京 🙂 " * 5]:
        assert remote.count_tokens(text) == local_vocab.count_tokens(text)


def test_renders_the_template_as_the_model_does(remote, local_vocab):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "How are you?"},
    ]
    assert remote.apply_chat_template(messages) == local_vocab.apply_chat_template(messages)


def test_streams_a_reply_piece_by_piece(remote):
    generation = ask(remote, "What is the capital of France?", GREEDY)
    pieces = list(generation)
    assert len(pieces) > 3
    assert "Paris" in generation.text
    assert generation.finish_reason == "stop"


def test_token_limit_marks_the_reply_unfinished(remote):
    generation = ask(
        remote, "Tell me a long story about dragons.", GREEDY.updated(max_new_tokens=5)
    )
    generation.result()
    assert generation.finish_reason == "length"
    assert generation.completion_tokens == 5


def test_stop_words_end_the_reply(remote):
    params = GenerationParams(temperature=0, max_new_tokens=40)
    text = ask(remote, "Count from one to ten in words.", params).result()
    assert len(text) > 12, text
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    cut = ask(remote, "Count from one to ten in words.", params.updated(stop=[stop])).result()
    assert stop not in cut
    assert cut == text[: text.find(stop)].rstrip()


def test_same_seed_reproduces_and_other_seeds_vary(remote):
    params = GenerationParams(temperature=1.0, top_k=0, top_p=1.0, seed=1234, max_new_tokens=24)
    question = "Write one sentence about the sea."
    first = ask(remote, question, params).result()
    assert ask(remote, question, params).result() == first
    others = {ask(remote, question, params.updated(seed=s)).result() for s in range(4)}
    assert len(others) > 1


def test_closing_the_stream_stops_the_server(remote, bare_llama_server):
    params = GenerationParams(temperature=0.8, max_new_tokens=1500, seed=7)
    generation = ask(remote, "Tell me a very long story about dragons.", params)
    pieces = iter(generation)
    next(pieces), next(pieces)
    assert any(slot["is_processing"] for slot in bare_llama_server.slots())
    generation.close()
    deadline = time.monotonic() + 5
    while any(slot["is_processing"] for slot in bare_llama_server.slots()):
        assert time.monotonic() < deadline, "the server kept generating after the stream closed"
        time.sleep(0.05)
    assert generation.finish_reason == "cancelled"


def test_json_mode_returns_valid_json(remote):
    # Greedy decoding can nest objects until the token limit on some CPUs (the kernels' rounding
    # picks the path), and a reply cut by the limit is unfinished JSON, as with OpenAI's own
    # JSON mode (finish_reason "length"). So: every reply opens a JSON object, and every
    # reply that ended by itself parses as an object.
    params = GenerationParams(temperature=0, max_new_tokens=160, json_schema={})
    prompts = [
        "Give me a JSON object with a cat's name and colour.",
        "Describe a cat in JSON with its name and colour.",
    ]
    finished = []
    for prompt in prompts:
        generation = ask(remote, prompt, params)
        text = generation.result()
        assert text.startswith("{")
        if generation.finish_reason == "stop":
            finished.append(json.loads(text))
    assert finished and all(isinstance(value, dict) for value in finished)


def test_json_schema_is_followed(remote):
    params = GenerationParams(temperature=0, max_new_tokens=60, json_schema=PERSON_SCHEMA)
    assert_person(ask(remote, "Invent a person.", params).result())


def test_logprobs_come_back_per_token(remote):
    params = GenerationParams(temperature=0, max_new_tokens=6, logprobs=2)
    generation = ask(remote, "What is the capital of France?", params)
    generation.result()
    assert len(generation.logprobs) == generation.completion_tokens
    first = generation.logprobs[0]
    assert first["logprob"] <= 0
    assert len(first["top_logprobs"]) == 2
    # greedy: the chosen token is the most likely one
    assert first["token"] == first["top_logprobs"][0]["token"]


def test_unreachable_server_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EngineUnavailable, match="cannot connect to the model server"):
        build_engine(ModelSettings(engine="openai", base_url=url, retries=1))


def test_base_url_is_required():
    with pytest.raises(EngineError, match=r"model\.base_url"):
        build_engine(ModelSettings(engine="openai"))


def test_sessions_through_the_pipeline(bare_llama_server, tmp_path):
    from parley.wiring import build_service

    settings = Settings.model_validate(
        {
            "data_dir": str(tmp_path),
            "model": {"engine": "openai", "base_url": f"{bare_llama_server.url}/v1"},
            "retrieval": {"enabled": False},
            "moderation": {"moderator": "none"},
        }
    )
    service = build_service(settings, progress=False)
    try:
        first = service.complete(ChatRequest("My name is Ada. Say hello to me.", GREEDY))
        assert first.text and first.session_id
        second = service.complete(
            ChatRequest("What is my name?", GREEDY, session_id=first.session_id)
        )
        assert "My name is Ada" in second.prompt and first.text in second.prompt
        assert second.prompt_tokens == service.engine.count_tokens(second.prompt)
        assert service.describe()["engine"] == "openai"
        session = service.store.get(first.session_id)
        assert [t.role for t in session.turns] == ["user", "assistant"] * 2
    finally:
        service.close()
