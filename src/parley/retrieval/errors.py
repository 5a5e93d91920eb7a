"""Retrieval errors. Messages say what is wrong and how to fix it."""

from __future__ import annotations


class RetrievalError(ValueError):
    """A retrieval input or index is not usable as given."""


class SourceError(RetrievalError):
    """A source file, folder or column cannot be read."""


class IndexMismatchError(RetrievalError):
    """An index was built with other settings (embedder, dimension) than the ones in use."""


class IndexNotFoundError(RetrievalError):
    """No index exists where one was expected."""


class RetrievalUnavailable(RuntimeError):
    """A retriever failed at query time (network, timeout); callers may go on without it."""


class WebSearchError(RetrievalUnavailable):
    """The web search API failed or answered something unexpected."""
