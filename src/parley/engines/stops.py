"""Stop words and token cleanup as a filter over a stream of text pieces.

Text that could be the start of a stop word (`<`, `<hu` for `<human>`) is held back until the
next pieces show whether it is one, so a stop word split across pieces never leaks out.
"""

from __future__ import annotations

from collections.abc import Iterable

# Special tokens some models print as text (OpenChatKit's cleanup list).
DEFAULT_REMOVALS = ("<pad>", "</s>", "<|endoftext|>")


class StopFilter:
    """Feeds on text pieces, emits the text that is safe to show, and notices stop words."""

    def __init__(self, stops: Iterable[str] = (), removals: Iterable[str] = DEFAULT_REMOVALS):
        self.stops = tuple(dict.fromkeys(s for s in stops if s))
        self.removals = tuple(dict.fromkeys(r for r in removals if r))
        self._watched = self.stops + self.removals
        self._pending = ""
        self.stopped = False
        """True once a stop word was seen; later pieces are ignored."""
        self.stop_word: str | None = None

    def feed(self, piece: str) -> str:
        """Add a piece; return the text that can be shown now (maybe empty)."""
        if self.stopped:
            return ""
        text = self._pending + piece
        for removal in self.removals:
            text = text.replace(removal, "")
        cut = self._first_stop(text)
        if cut is not None:
            index, word = cut
            self.stopped, self.stop_word, self._pending = True, word, ""
            return text[:index]
        keep = self._partial_suffix_length(text)
        self._pending = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """End of stream: release held-back text that turned out not to be a stop word."""
        text, self._pending = self._pending, ""
        return "" if self.stopped else text

    def _first_stop(self, text: str) -> tuple[int, str] | None:
        best: tuple[int, str] | None = None
        for word in self.stops:
            index = text.find(word)
            if index != -1 and (best is None or index < best[0]):
                best = (index, word)
        return best

    def _partial_suffix_length(self, text: str) -> int:
        """Length of the longest end of `text` that is a proper prefix of a watched word."""
        longest = 0
        for word in self._watched:
            for size in range(min(len(word) - 1, len(text)), longest, -1):
                if text.endswith(word[:size]):
                    longest = size
                    break
        return longest
