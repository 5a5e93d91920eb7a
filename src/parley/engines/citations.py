"""Citation marks in replies: `[n]` must point at a source the user is shown.

Small models write marks like `[4]` for sources that do not exist. `CitationFilter` sits on
the stream of reply text and drops (or narrows, `[1, 4]` -> `[1]`) marks that match no shown
source. Text that could still become a mark (`[`, ` [1`) is held back until it is resolved,
so an invented mark never reaches the user, also while streaming.
"""

from __future__ import annotations

import re

_NUMBERS = r"\d{1,3}(?:\s*[,–-]\s*\d{1,3})*"
CITATION_MARK = re.compile(rf"(?<![\w)])\[({_NUMBERS})\]")
"""A citation mark: `[2]`, `[1, 3]`, `[1-2]` (not `items[2]`); group 1 holds the numbers."""

_MARK_WITH_SPACE = re.compile(rf"([ \t]+|(?<![\w)]))\[({_NUMBERS})\]")
_OPEN_TAIL = re.compile(r"[ \t]*(?:\[[\d,\s–-]*)?$")
_LONGEST_MARK = 24


def cited_numbers(inside: str) -> list[int]:
    """The source numbers in a mark's inside (`1, 3` -> [1, 3]; `1-3` -> [1, 2, 3])."""
    numbers: list[int] = []
    for part in re.split(r"\s*,\s*", inside.strip()):
        low, dash, high = part.partition("-") if "-" in part else part.partition("–")
        if dash and low.strip().isdigit() and high.strip().isdigit():
            start, end = int(low), int(high)
            numbers.extend(range(start, end + 1) if 0 <= end - start <= 20 else (start, end))
        elif part.strip().isdigit():
            numbers.append(int(part))
    return numbers


def keep_real_marks(text: str, source_count: int) -> str:
    """`text` with every mark narrowed to the sources 1..source_count, or removed (with the
    space before it) when none of its numbers is one."""

    def rewrite(match: re.Match[str]) -> str:
        valid = [n for n in cited_numbers(match.group(2)) if 1 <= n <= source_count]
        if not valid:
            return ""
        return f"{match.group(1)}[{', '.join(str(n) for n in dict.fromkeys(valid))}]"

    return _MARK_WITH_SPACE.sub(rewrite, text)


class CitationFilter:
    """Feeds on reply pieces; emits text whose citation marks all match a shown source."""

    def __init__(self, source_count: int) -> None:
        self.source_count = source_count
        self._pending = ""
        self._last = ""
        self.removed = 0
        """Marks removed or narrowed so far."""

    def feed(self, piece: str) -> str:
        """Add a piece; return the text that can be shown now (maybe empty)."""
        text = self._pending + piece
        tail = _OPEN_TAIL.search(text)
        start = tail.start() if tail is not None else len(text)
        if len(text) - start > _LONGEST_MARK:
            start = len(text)  # too long to be a mark
        ready, self._pending = text[:start], text[start:]
        return self._clean(ready)

    def flush(self) -> str:
        """End of the reply: release what was held back."""
        text, self._pending = self._pending, ""
        return self._clean(text)

    def _clean(self, text: str) -> str:
        if not text:
            return ""
        # The character shown last decides whether a `[` opens a mark (`items[2]` does not);
        # it is never a space (spaces before a possible mark are held back), so it stays.
        cleaned = keep_real_marks(self._last + text, self.source_count)[len(self._last) :]
        self._last = cleaned[-1:] or self._last
        if cleaned != text:
            self.removed += sum(
                1
                for m in CITATION_MARK.finditer(text)
                if any(not 1 <= n <= self.source_count for n in cited_numbers(m.group(1)))
            )
        return cleaned
