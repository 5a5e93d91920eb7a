"""The `transformers` engine: any causal LM, with requests that arrive together decoded as a batch.

A single worker thread owns the model. Requests that arrive while it is idle wait up to
`batch_window_ms` for company; requests with the same sampling settings then decode together in
one left-padded `generate` call, each row streaming its own tokens and stopping on its own.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Generator, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
from transformers import (
    GenerationConfig,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
)
from transformers.generation.streamers import BaseStreamer

from parley.engines.base import ChatEngine, EngineError, TokenPiece
from parley.engines.loading import load_causal_lm
from parley.engines.params import GenerationParams
from parley.engines.repetition import NoRepeatNgramTorch
from parley.engines.sources import ModelSource, resolve_source

if TYPE_CHECKING:
    from parley.engines.settings import ModelSettings
    from parley.registry import Shared

CPU_CONTEXT_CAP = 4096  # same default window as the llama.cpp engine
_request_ids = itertools.count()


@dataclass(eq=False)
class _Request:
    input_ids: list[int]
    params: GenerationParams
    out: queue.SimpleQueue[TokenPiece | BaseException] = field(default_factory=queue.SimpleQueue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    id: int = field(default_factory=lambda: next(_request_ids))

    def batch_key(self) -> Hashable:
        """Requests with equal keys can share one generate call."""
        p = self.params
        if p.sampling and p.seed is not None:
            # One RNG serves the whole batch, so a seeded request decodes alone to stay
            # reproducible.
            return ("seeded", self.id)
        if not p.sampling:
            return ("greedy", p.repetition_penalty, p.no_repeat_ngram_size)
        return (
            "sample",
            p.temperature,
            p.top_k,
            p.top_p,
            p.repetition_penalty,
            p.no_repeat_ngram_size,
        )


class _RowTracker(BaseStreamer, StoppingCriteria):
    """Streams each row's new tokens to its request and tells generate which rows are done."""

    def __init__(self, requests: list[_Request], tokenizer: Any) -> None:
        self.requests = requests
        self.tokenizer = tokenizer
        self.tokens: list[list[int]] = [[] for _ in requests]
        self.shown: list[str] = ["" for _ in requests]
        self.done = [False] * len(requests)
        self.eos_ids = _eos_ids(tokenizer)
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate first passes the prompt
            self._prompt_seen = True
            return
        for row, token in enumerate(value.reshape(-1).tolist()):
            if self.done[row]:
                continue
            request = self.requests[row]
            if request.cancelled.is_set():
                self._finish(row, "cancelled")
                continue
            if token in self.eos_ids:
                self._finish(row, "stop")
                continue
            self.tokens[row].append(token)
            text = self.tokenizer.decode(self.tokens[row], skip_special_tokens=True)
            # A token may end mid-character; wait for the rest before showing it.
            piece = "" if text.endswith("\ufffd") else text[len(self.shown[row]) :]
            if piece:
                self.shown[row] = text
            request.out.put(TokenPiece(piece))
            if len(self.tokens[row]) >= request.params.max_new_tokens:
                self._finish(row, "length")

    def end(self) -> None:
        for row in range(len(self.requests)):
            if not self.done[row]:
                self._finish(row, "length")

    def _finish(self, row: int, reason: Any) -> None:
        self.done[row] = True
        self.requests[row].out.put(TokenPiece("", reason))

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        for row, request in enumerate(self.requests):
            if request.cancelled.is_set() and not self.done[row]:
                self._finish(row, "cancelled")
        done = torch.tensor(self.done, dtype=torch.bool, device=input_ids.device)
        return cast(torch.BoolTensor, done)


def _eos_ids(tokenizer: Any) -> set[int]:
    ids = tokenizer.eos_token_id
    found = set(ids) if isinstance(ids, list) else {ids} if ids is not None else set()
    return found


class TransformersEngine(ChatEngine):
    """Hugging Face transformers: CPU or GPU, any dtype, split over devices, batched."""

    name = "transformers"

    @classmethod
    def from_settings(cls, settings: ModelSettings, *, shared: Shared) -> TransformersEngine:
        """Load `settings.source`; downloads are cached under `<data_dir>/models`."""
        cache = shared.folder("models") if shared.data_dir is not None else None
        return cls(resolve_source(settings.source), settings, cache_dir=cache)

    def __init__(
        self, source: ModelSource, settings: ModelSettings, cache_dir: Path | None = None
    ) -> None:
        self.source = source
        self.settings = settings
        model, self.tokenizer = load_causal_lm(settings, source, cache_dir)
        # transformers' own types make `generate` look like a tensor; the model is used as Any.
        self.model: Any = model
        self.device = next(self.model.parameters()).device
        trained = getattr(self.model.config, "max_position_embeddings", None) or 2048
        if settings.context_window:
            self.context_window = settings.context_window
        else:
            self.context_window = (
                trained if self.device.type == "cuda" else min(trained, CPU_CONTEXT_CAP)
            )
        self.eos_ids = _eos_ids(self.tokenizer)
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._max_batch = settings.max_batch_size
        self._window_s = settings.batch_window_ms / 1000
        self._worker = threading.Thread(target=self._serve, name="parley-batcher", daemon=True)
        self._worker.start()

    # -- the ChatEngine contract ------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @property
    def chat_template(self) -> str | None:
        return getattr(self.tokenizer, "chat_template", None)

    def apply_chat_template(self, messages: Sequence[dict[str, str]]) -> str:
        return str(
            self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            )
        )

    def stream(self, prompt: str, params: GenerationParams) -> Generator[TokenPiece, None, None]:
        request = _Request(self._encode(prompt, params), params)
        self._queue.put(request)
        try:
            while True:
                item = request.out.get()
                if isinstance(item, BaseException):
                    raise EngineError(f"generation failed: {item}") from item
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            request.cancelled.set()

    def generate_batch(self, prompts: Sequence[str], params: GenerationParams) -> list[str]:
        streams = [self.stream(prompt, params) for prompt in prompts]
        # Start every stream before reading any so the requests share a batch.
        firsts = [next(stream) for stream in streams]
        return [
            first.text + "".join(p.text for p in stream)
            for first, stream in zip(firsts, streams, strict=True)
        ]

    def close(self) -> None:
        # Join the worker: a daemon thread still inside torch at interpreter exit aborts the
        # process ("terminate called without an active exception").
        self._queue.put(None)
        if self._worker.is_alive() and self._worker is not threading.current_thread():
            self._worker.join(timeout=60)

    # -- batching -----------------------------------------------------------------------------

    def _encode(self, prompt: str, params: GenerationParams) -> list[int]:
        bos = self.tokenizer.bos_token
        add_special = not (bos and prompt.startswith(bos))
        ids = self.tokenizer(prompt, add_special_tokens=add_special)["input_ids"]
        if len(ids) + params.max_new_tokens > self.context_window:
            raise EngineError(
                f"the prompt has {len(ids)} tokens; with max_new_tokens={params.max_new_tokens} "
                f"it exceeds the context window of {self.context_window}"
            )
        return ids

    def _serve(self) -> None:
        waiting: deque[_Request] = deque()
        while True:
            first = waiting.popleft() if waiting else self._queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self._window_s
            # Requests already waiting join first, then new arrivals within the window.
            for request in list(waiting):
                if len(batch) < self._max_batch and request.batch_key() == first.batch_key():
                    waiting.remove(request)
                    batch.append(request)
            while len(batch) < self._max_batch:
                timeout = deadline - time.monotonic()
                try:
                    arrived = (
                        self._queue.get(timeout=max(timeout, 0))
                        if timeout > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if arrived is None:
                    self._queue.put(None)
                    break
                if arrived.batch_key() == first.batch_key():
                    batch.append(arrived)
                else:
                    waiting.append(arrived)
            batch = [r for r in batch if not r.cancelled.is_set()]
            if batch:
                self._run_batch(batch)

    def _run_batch(self, batch: list[_Request]) -> None:
        tracker = _RowTracker(batch, self.tokenizer)
        try:
            encoded = self.tokenizer.pad(
                {"input_ids": [r.input_ids for r in batch]}, padding=True, return_tensors="pt"
            ).to(self.device)
            params = batch[0].params
            config = GenerationConfig(
                max_new_tokens=max(r.params.max_new_tokens for r in batch),
                do_sample=params.sampling,
                temperature=params.temperature if params.sampling else None,
                top_k=params.top_k if params.sampling else None,
                top_p=params.top_p if params.sampling else None,
                repetition_penalty=params.repetition_penalty,
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=sorted(self.eos_ids) or None,
            )
            if params.sampling:
                torch.manual_seed(
                    params.seed if params.seed is not None else time.time_ns() % 2**32
                )
            processors = LogitsProcessorList()
            if params.no_repeat_ngram_size:
                width = encoded["input_ids"].shape[1]
                processors.append(NoRepeatNgramTorch(width, params.no_repeat_ngram_size))
            with torch.inference_mode():
                self.model.generate(
                    **encoded,
                    generation_config=config,
                    logits_processor=processors,
                    streamer=tracker,
                    stopping_criteria=StoppingCriteriaList([tracker]),
                )
            tracker.end()
        except Exception as exc:  # every waiting client must hear about it
            for row, request in enumerate(batch):
                if not tracker.done[row]:
                    request.out.put(exc)
