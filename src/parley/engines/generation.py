"""A reply being generated: engine pieces, filtered for stop words, with the reply's outcome."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from parley.engines.base import ChatEngine, FinishReason
from parley.engines.params import GenerationParams
from parley.engines.stops import StopFilter


class Generation:
    """Iterate to receive the reply's text as it is generated; afterwards read the outcome.

    `finish_reason` is `stop` (end of text or a stop word), `length` (cut by max_new_tokens:
    the reply is unfinished) or `cancelled` (closed early).
    """

    def __init__(
        self,
        engine: ChatEngine,
        prompt: str,
        params: GenerationParams,
        stop_words: Iterable[str] = (),
    ) -> None:
        self.prompt = prompt
        self.params = params
        self.text = ""
        self.finish_reason: FinishReason | None = None
        self.completion_tokens = 0
        self.time_to_first_token: float | None = None
        self.logprobs: list[dict[str, Any]] = []
        stops = list(dict.fromkeys([*stop_words, *params.stop]))
        self._filter = StopFilter(stops)
        self._started = time.perf_counter()
        # Engines that stop upstream (a server) get the format's stop words too.
        self._pieces = engine.stream(prompt, params.model_copy(update={"stop": stops}))
        self._consumed = False

    @property
    def unfinished(self) -> bool:
        """True when the token limit cut the reply."""
        return self.finish_reason == "length"

    def __iter__(self) -> Iterator[str]:
        if self._consumed:
            raise RuntimeError("a Generation can be iterated only once")
        self._consumed = True
        try:
            for piece in self._pieces:
                if piece.finish_reason is not None:
                    self.finish_reason = piece.finish_reason
                    break
                self.completion_tokens += 1
                if piece.logprobs:
                    self.logprobs.extend(piece.logprobs)
                if self.time_to_first_token is None:
                    self.time_to_first_token = time.perf_counter() - self._started
                shown = self._show(self._filter.feed(piece.text))
                if shown:
                    yield shown
                if self._filter.stopped:
                    self.finish_reason = "stop"
                    break
            shown = self._show(self._filter.flush())
            if shown:
                yield shown
        finally:
            self._pieces.close()
            if self.finish_reason is None:
                self.finish_reason = "cancelled"
            self.text = self.text.rstrip()

    def _show(self, text: str) -> str:
        # Replies start after "<bot>:" or a template cue; leading whitespace is not content.
        if not self.text:
            text = text.lstrip()
        self.text += text
        return text

    def close(self) -> None:
        """Stop generating (e.g. the user pressed Ctrl-C)."""
        self._pieces.close()
        if self.finish_reason is None:
            self.finish_reason = "cancelled"

    def result(self) -> str:
        """Run to the end and return the whole reply."""
        for _ in self:
            pass
        return self.text
