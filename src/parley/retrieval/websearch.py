"""A retriever over any HTTP JSON search API, described by settings, not code.

The API is given by a URL template, an auth header and dotted paths to the results and to
each result's title, snippet and link. Failures raise `WebSearchError` with a message a
person can act on; the chat catches it and answers without web results.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx

from parley.registry import Shared
from parley.retrieval.documents import Passage
from parley.retrieval.errors import WebSearchError
from parley.retrieval.settings import RetrievalSettings, WebSearchSettings
from parley.retrieval.table import Filters


def json_path(data: Any, path: str) -> Any:
    """The value at a dotted path such as `web.results` or `items.0.title`; KeyError if absent."""
    value = data
    for part in (p for p in path.split(".") if p):
        if isinstance(value, list) and part.lstrip("-").isdigit():
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(part)
    return value


class WebSearchRetriever:
    """Passages from a web search API: the snippet is the text, the link is the URI."""

    name = "web"

    def __init__(self, settings: WebSearchSettings, client: httpx.Client | None = None) -> None:
        if not settings.url:
            raise WebSearchError("web search is not configured: set [retrieval.web] url")
        self.settings = settings
        self._client = client or httpx.Client(timeout=settings.timeout_s, follow_redirects=True)
        self._host = urlsplit(settings.url.replace("{query}", "q").replace("{k}", "1")).netloc

    @classmethod
    def from_settings(cls, settings: RetrievalSettings, *, shared: Shared) -> WebSearchRetriever:
        return cls(settings.web)

    def close(self) -> None:
        self._client.close()

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.settings.headers}
        name = self.settings.api_key_env
        if name:
            key = os.environ.get(name)
            if not key:
                raise WebSearchError(
                    f"web search needs an API key in the environment variable {name}, "
                    "which is not set"
                )
            headers[self.settings.auth_header] = self.settings.auth_prefix + key
        return headers

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Passage]:
        """Top `k` web results. `filters` are not supported by web APIs and are ignored."""
        s = self.settings
        url = s.url.replace("{query}", quote_plus(query)).replace("{k}", str(k))
        body = {
            key: value.replace("{query}", query).replace("{k}", str(k))
            if isinstance(value, str)
            else value
            for key, value in s.body.items()
        }
        try:
            if s.method == "POST":
                response = self._client.post(url, json=body, headers=self._headers())
            else:
                response = self._client.get(url, headers=self._headers())
            response.raise_for_status()
            data = response.json()
        except httpx.TimeoutException:
            raise WebSearchError(
                f"web search at {self._host} timed out after {s.timeout_s:g}s; "
                "answering without web results"
            ) from None
        except httpx.HTTPStatusError as exc:
            text = exc.response.text[:200].replace("\n", " ")
            hint = " (check the API key)" if exc.response.status_code in (401, 403) else ""
            raise WebSearchError(
                f"web search at {self._host} answered HTTP {exc.response.status_code}{hint}: {text}"
            ) from None
        except httpx.HTTPError as exc:
            raise WebSearchError(f"web search at {self._host} failed: {exc}") from None
        except ValueError:
            raise WebSearchError(f"web search at {self._host} did not answer JSON") from None
        return self._passages(data, k)

    def _passages(self, data: Any, k: int) -> list[Passage]:
        s = self.settings
        try:
            results = json_path(data, s.results_path)
        except (KeyError, IndexError):
            keys = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
            raise WebSearchError(
                f"no {s.results_path!r} in the web search answer (top level: {keys}); "
                "set [retrieval.web] results_path"
            ) from None
        if not isinstance(results, list):
            raise WebSearchError(f"{s.results_path!r} in the web search answer is not a list")
        passages: list[Passage] = []
        for rank, item in enumerate(results[:k]):
            snippet = _get(item, s.snippet_path)
            title = _get(item, s.title_path)
            link = _get(item, s.link_path)
            if not (snippet or title):
                continue
            text = snippet or title
            passages.append(
                Passage(
                    text=text,
                    title=title or link or "web result",
                    uri=link,
                    rank_score=1.0 / (rank + 1),
                    snippet=snippet,
                    metadata={"source": "web", "rank": rank + 1},
                )
            )
        return passages


def _get(item: Any, path: str) -> str:
    try:
        value = json_path(item, path)
    except (KeyError, IndexError, TypeError):
        return ""
    return " ".join(str(value).split()) if value is not None else ""
