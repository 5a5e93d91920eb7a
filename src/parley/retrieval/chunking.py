"""Sentence-aware chunking bounded in embedder tokens, with overlap between chunks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from parley.retrieval.documents import Chunk, Document, embedding_heading

# Words that end with a period without ending a sentence. Single capitals (initials such as
# "J. R. R. Tolkien") are handled by the regex below.
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "cf",
        "ca",
        "c",
        "approx",
        "no",
        "fig",
        "vol",
        "ed",
        "eds",
        "inc",
        "ltd",
        "co",
        "corp",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "a.d",
        "b.c",
        "gen",
        "col",
        "lt",
        "rev",
    ]
)
# A candidate boundary: end punctuation (and closing quotes/brackets), then whitespace.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*\s+|\n\s*\n")


@dataclass(frozen=True)
class Span:
    """A sentence as character offsets into its text."""

    start: int
    end: int


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of `text`; blank lines always break, abbreviations and initials don't."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        before = text[start : match.start() + 1]
        last_word = before.rsplit(None, 1)[-1].rstrip(".").lower() if before.strip() else ""
        following = text[end : end + 1]
        is_paragraph = "\n\n" in match.group(0).replace(" ", "")
        if not is_paragraph:
            if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
                continue
            if following and following.islower():
                continue
        if text[start:end].strip():
            spans.append(_trim(text, start, end))
        start = end
    if text[start:].strip():
        spans.append(_trim(text, start, len(text)))
    return spans


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end)


class Chunker:
    """Packs whole sentences into chunks of at most `max_tokens` embedder tokens.

    The title is embedded with each chunk, so its tokens count against the limit. The last
    sentences of a chunk (up to `overlap_tokens`) start the next one, so an answer that spans
    a boundary is whole in at least one chunk. A sentence longer than the limit is cut at words.
    """

    def __init__(
        self, count_tokens: Callable[[str], int], max_tokens: int = 200, overlap_tokens: int = 32
    ) -> None:
        if max_tokens < 8:
            raise ValueError(f"max_tokens must be at least 8, got {max_tokens}")
        if not 0 <= overlap_tokens < max_tokens:
            raise ValueError(f"overlap_tokens must be in [0, {max_tokens}), got {overlap_tokens}")
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens

    def chunk(self, doc: Document) -> list[Chunk]:
        """The chunks of one document, in order, each knowing its position (and section)."""
        if not doc.parts:
            return self._chunk_text(doc, doc.text, doc.metadata, 0)
        chunks: list[Chunk] = []
        for part in doc.parts:
            metadata = dict(doc.metadata)
            page = re.fullmatch(r"page (\d+)", part.section)
            if page:
                metadata["page"] = int(page.group(1))
            elif part.section:
                metadata["section"] = part.section
            chunks.extend(self._chunk_text(doc, part.text, metadata, len(chunks)))
        return chunks

    def _chunk_text(
        self, doc: Document, text: str, metadata: dict[str, Any], first: int
    ) -> list[Chunk]:
        heading = embedding_heading(doc.title, doc.metadata)
        title_cost = self.count_tokens(heading) if heading else 0
        probe = Chunk(doc.doc_id, first, text, doc.title, doc.uri, doc.source, metadata)
        # Most documents (e.g. article summaries) fit whole: one count instead of one per sentence.
        if self.count_tokens(probe.embedding_text()) <= self.max_tokens:
            return [probe]
        budget = max(8, self.max_tokens - title_cost)
        pieces = list(self._pieces(text, budget))
        return [
            Chunk(doc.doc_id, first + position, piece, doc.title, doc.uri, doc.source, metadata)
            for position, piece in enumerate(self._pack(text, pieces, budget))
        ]

    def chunk_all(self, docs: Iterable[Document]) -> Iterator[Chunk]:
        for doc in docs:
            yield from self.chunk(doc)

    def _pieces(self, text: str, budget: int) -> Iterator[tuple[int, int, int]]:
        """(start, end, tokens) of each sentence, long sentences cut into word runs."""
        for span in split_sentences(text):
            tokens = self.count_tokens(text[span.start : span.end])
            if tokens <= budget:
                yield span.start, span.end, tokens
                continue
            # BERT-style tokenizers split on whitespace first, so word counts add up exactly.
            run_start: int | None = None
            run_end = 0
            run_tokens = 0
            for word in re.finditer(r"\S+", text[span.start : span.end]):
                w_start, w_end = span.start + word.start(), span.start + word.end()
                w_tokens = self.count_tokens(word.group(0))
                if w_tokens > budget:  # one giant "word" (a URL, a table): cut by characters
                    if run_start is not None:
                        yield run_start, run_end, run_tokens
                        run_start = None
                    yield from self._cut_chars(text, w_start, w_end, budget)
                    run_tokens = 0
                    continue
                if run_start is not None and run_tokens + w_tokens > budget:
                    yield run_start, run_end, run_tokens
                    run_start = None
                if run_start is None:
                    run_start, run_tokens = w_start, 0
                run_end = w_end
                run_tokens += w_tokens
            if run_start is not None:
                yield run_start, run_end, run_tokens

    def _cut_chars(
        self, text: str, start: int, end: int, budget: int
    ) -> Iterator[tuple[int, int, int]]:
        while start < end:
            size = end - start
            while size > 1 and self.count_tokens(text[start : start + size]) > budget:
                size //= 2
            yield start, start + size, self.count_tokens(text[start : start + size])
            start += size

    def _pack(self, text: str, pieces: list[tuple[int, int, int]], budget: int) -> Iterator[str]:
        current: list[tuple[int, int, int]] = []
        total = 0
        for piece in pieces:
            if current and total + piece[2] > budget:
                yield text[current[0][0] : current[-1][1]]
                # Carry trailing pieces into the next chunk, never the whole chunk (progress),
                # and only as much as leaves room for the new piece.
                carried: list[tuple[int, int, int]] = []
                carried_tokens = 0
                for prev in reversed(current[1:]):
                    if carried_tokens + prev[2] > self.overlap_tokens:
                        break
                    carried.insert(0, prev)
                    carried_tokens += prev[2]
                while carried and carried_tokens + piece[2] > budget:
                    carried_tokens -= carried.pop(0)[2]
                current, total = carried, carried_tokens
            current.append(piece)
            total += piece[2]
        if current:
            yield text[current[0][0] : current[-1][1]]
