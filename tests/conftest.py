"""Shared fixtures: a fake engine with queued replies, and the real embedded model engines."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from parley.config import ModelSettings
from parley.engines.base import ChatEngine, TokenPiece
from parley.engines.params import GenerationParams
from parley.engines.sources import ModelSource, SourceKind
from tests.llama_servers import bare_llama_server, gguf_model, llama_server_binary

__all__ = ["bare_llama_server", "gguf_model", "llama_server_binary"]  # fixtures of every test


class FakeEngine(ChatEngine):
    """Replays queued replies piece by piece; records the prompts it was given."""

    name = "fake"

    def __init__(
        self,
        replies: Sequence[Sequence[str]] = (),
        context_window: int = 2048,
        delay: float = 0.0,
    ) -> None:
        self.delay = delay
        """Seconds per piece, to make a slow model."""
        self.source = ModelSource("fake", SourceKind.FOLDER, None)
        self.context_window = context_window
        self.replies = [list(r) for r in replies]
        self.prompts: list[str] = []
        self.closed_early = 0

    def queue(self, *pieces: str) -> None:
        self.replies.append(list(pieces))

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    @property
    def chat_template(self) -> str | None:
        return "fake"

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        body = "".join(f"[{m['role']}] {m['content']}\n" for m in messages)
        return body + "[assistant]"

    def stream(self, prompt: str, params: GenerationParams) -> Iterator[TokenPiece]:
        self.prompts.append(prompt)
        pieces = self.replies.pop(0) if self.replies else []
        finished = False
        try:
            for index, piece in enumerate(pieces):
                if index >= params.max_new_tokens:
                    finished = True
                    yield TokenPiece("", "length")
                    return
                if self.delay:
                    time.sleep(self.delay)
                yield TokenPiece(piece)
            finished = True
            yield TokenPiece("", "stop")
        finally:
            if not finished:
                self.closed_early += 1


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture(scope="session")
def moderation_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir shared by the session, so the moderation head is trained once."""
    return tmp_path_factory.mktemp("parley-moderation")


@pytest.fixture(scope="session")
def embedder():
    """The real default embedder (all-MiniLM-L6-v2), loaded once."""
    from parley.retrieval.embedder import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def shipped_moderator(embedder, moderation_data_dir):
    """The default classifier moderator, its head trained on Parley's shipped set once."""
    from parley.moderation.factory import build_moderator
    from parley.moderation.settings import ModerationSettings

    return build_moderator(
        ModerationSettings(), moderation_data_dir, progress=False, embedder=embedder
    )


@pytest.fixture(scope="session")
def default_kb_data_dir(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """A data dir holding the default knowledge base index, built once per test session."""
    import torch

    from parley.retrieval.retriever import build_retriever
    from parley.retrieval.settings import RetrievalSettings

    data_dir = tmp_path_factory.mktemp("kb-data")
    # The set-up (scripts/setup.sh) builds the same index into the user's data dir with the
    # same code; a copy spares the suite a second build (minutes on a busy 2-core machine).
    # `build_retriever` below opens it as the server would (an index of another embedder is
    # refused); PARLEY_TEST_FRESH_KB=1 builds it afresh instead.
    built = Path("~/.local/share/parley/indexes/default").expanduser()
    if (built / "manifest.json").is_file() and not os.environ.get("PARLEY_TEST_FRESH_KB"):
        shutil.copytree(
            built, data_dir / "indexes" / "default", ignore=shutil.ignore_patterns("*.lock")
        )
    # One intra-op thread: on a shared 2-core machine two threads stall each other behind
    # other processes (3x slower); on an idle one, one thread costs ~40%.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        build_retriever(
            RetrievalSettings(ingest_threads=1), data_dir, progress=False, embedder=embedder
        )
    finally:
        torch.set_num_threads(threads)
    return data_dir


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir shared by the session, so the dequantised model is converted once."""
    return tmp_path_factory.mktemp("parley-data")


@pytest.fixture(scope="session")
def llamacpp_engine() -> Iterator[ChatEngine]:
    from parley.engines.llamacpp_engine import llama_cpp_available

    if not llama_cpp_available():
        # CI installs it through `make setup`; elsewhere it is an optional extra.
        if os.environ.get("CI"):
            pytest.fail("llama-cpp-python is missing in CI: scripts/setup.sh did not install it")
        pytest.skip("llama-cpp-python is not installed (run `make setup`)")
    from parley.engines.factory import build_engine

    engine = build_engine(ModelSettings(engine="llama.cpp", context_window=2048))
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def transformers_engine(model_cache: Path) -> Iterator[ChatEngine]:
    from parley.engines.factory import build_engine

    engine = build_engine(
        ModelSettings(engine="transformers", context_window=2048, batch_window_ms=20),
        model_cache,
    )
    yield engine
    engine.close()


def unavailable(reason: str) -> None:
    """Skip for a missing test backend; in CI (which installs them all) fail instead."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A local moto server (DynamoDB, S3, SageMaker, ...) with dummy credentials in the
    environment."""
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except ImportError:
        unavailable("moto[server] is not installed (pip install 'moto[server]')")
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        # Real DynamoDB applies each conditional write atomically per item; moto's in-memory
        # backend takes no lock, so this server handles one request at a time to match.
        with lock:
            return list(app(environ, start_response))

    server = make_server(
        "127.0.0.1", 0, one_at_a_time, threaded=True, request_handler=MotoRequestHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
