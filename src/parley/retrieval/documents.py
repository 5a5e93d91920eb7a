"""The records retrieval passes around: documents, their chunks, and ranked passages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SNIPPET_CHARS = 200


@dataclass
class Part:
    """A section of a document (under a heading) or a page of a PDF."""

    text: str
    section: str = ""
    """The heading it sits under, or `page N`."""


@dataclass
class Document:
    """One source document, before chunking."""

    text: str
    title: str
    uri: str
    """Where it came from: a URL or a file path (with `#row` for table rows)."""
    doc_id: str = ""
    """Stable identity used to delete or replace it; the URI when empty."""
    source: str = ""
    """The source spec it was loaded from (a file, folder or embedded source name)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)
    """Sections or pages, chunked one by one so each chunk knows where it sits; empty for a
    document read as one piece."""

    def __post_init__(self) -> None:
        if not self.doc_id:
            self.doc_id = self.uri


@dataclass
class Chunk:
    """A piece of a document, small enough to embed, that knows where it sits."""

    doc_id: str
    position: int
    """Index of this chunk within its document (0, 1, ...), for pulling in neighbours."""
    text: str
    title: str
    uri: str
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def embedding_text(self) -> str:
        """What gets embedded and keyword-indexed: the heading gives short chunks their topic."""
        heading = embedding_heading(self.title, self.metadata)
        return f"{heading}\n{self.text}" if heading else self.text


def embedding_heading(title: str, metadata: dict[str, Any]) -> str:
    """`Title (short description)`: a short description (Wikipedia has one per article) tells
    the embedder what the title is, which lifted dev-set recall@1 from 0.74 to 0.78."""
    description = metadata.get("description")
    if title and isinstance(description, str) and description.strip():
        return f"{title} ({description.strip()})"
    return title


def make_snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of `text`, cut at a word boundary, for citations."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,;:") + "…"


@dataclass
class Passage:
    """A retrieved passage with what an interface needs to cite it."""

    text: str
    title: str
    uri: str
    rank_score: float
    """Where the retriever ranked it: the cosine for dense search, the fused reciprocal-rank
    score for hybrid search and fusion (only comparable within one ranking)."""
    similarity: float | None = None
    """Cosine similarity of the passage to the query; None when not computed (web results,
    keyword-only hits)."""
    snippet: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    chunk_id: int | None = None
    """Row id in the index's text table; None for web results."""
    doc_id: str = ""

    def __post_init__(self) -> None:
        if not self.snippet:
            self.snippet = make_snippet(self.text)

    def source_dict(self) -> dict[str, Any]:
        """What a reply carries for citation: title, where in the document, snippet, score.

        `uri` is a web address or empty: a file's place on the server is never sent; its name
        (relative to the folder it was indexed from) is `document`.
        """
        out: dict[str, Any] = {
            "title": self.title,
            "uri": self.uri if is_web_address(self.uri) else "",
            "snippet": self.snippet,
            "score": round(float(self.rank_score), 6),
        }
        for key in ("document", "section", "page"):
            value = self.metadata.get("file" if key == "document" else key)
            if value not in (None, ""):
                out[key] = value
        return out


def is_web_address(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))
