from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from parley.retrieval.documents import Passage
from parley.retrieval.errors import RetrievalUnavailable, WebSearchError
from parley.retrieval.retriever import FusedRetriever
from parley.retrieval.settings import RetrievalSettings, WebSearchSettings
from parley.retrieval.websearch import WebSearchRetriever, json_path


class _SearchApi(BaseHTTPRequestHandler):
    """A fake search API on 127.0.0.1: nested results, auth, errors and a slow route."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/slow":
            time.sleep(1.5)
        if url.path == "/error":
            return self._send(500, b"internal trouble")
        if url.path == "/html":
            return self._send(200, b"<html>hello</html>")
        if url.path == "/private" and self.headers.get("X-Api-Key") != "Token s3cret":
            return self._send(401, b'{"error": "bad key"}')
        k = int(query.get("count", ["10"])[0])
        q = query["q"][0]
        items = [
            {
                "name": f"Result {i} for {q}",
                "body": {"snippet": f"Snippet {i} about {q}."},
                "url": f"https://example.org/{i}",
            }
            for i in range(k)
        ]
        self._send(200, json.dumps({"data": {"web": items}}).encode())

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        items = [{"name": "Posted", "body": {"snippet": body["query"]}, "url": "https://p"}]
        self._send(200, json.dumps({"data": {"web": items}}).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SearchApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _web(base: str, path: str = "/search", **kw: object) -> WebSearchRetriever:
    settings = WebSearchSettings(
        url=f"{base}{path}?q={{query}}&count={{k}}",
        results_path="data.web",
        title_path="name",
        snippet_path="body.snippet",
        link_path="url",
        timeout_s=1.0,
        **kw,  # type: ignore[arg-type]
    )
    return WebSearchRetriever(settings)


def test_results_titles_snippets_links(api: str) -> None:
    passages = _web(api).search("tides & moon", 3)
    assert [p.title for p in passages] == [f"Result {i} for tides & moon" for i in range(3)]
    assert passages[0].snippet == "Snippet 0 about tides & moon."
    assert passages[0].text == passages[0].snippet
    assert passages[2].uri == "https://example.org/2"
    assert passages[0].rank_score > passages[1].rank_score
    assert passages[0].source_dict()["uri"] == "https://example.org/0"


def test_auth_header_from_environment(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    web = _web(api, "/private", auth_header="X-Api-Key", auth_prefix="Token ", api_key_env="K")
    with pytest.raises(WebSearchError, match="environment variable K"):
        web.search("x", 1)
    monkeypatch.setenv("K", "wrong")
    with pytest.raises(WebSearchError, match=r"HTTP 401 \(check the API key\)"):
        web.search("x", 1)
    monkeypatch.setenv("K", "s3cret")
    assert len(web.search("x", 2)) == 2


def test_post_body(api: str) -> None:
    settings = WebSearchSettings(
        url=f"{api}/search?q={{query}}",
        method="POST",
        body={"query": "{query}", "n": 3},
        results_path="data.web",
        title_path="name",
        snippet_path="body.snippet",
        link_path="url",
    )
    [passage] = WebSearchRetriever(settings).search("posted question", 1)
    assert passage.text == "posted question"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/slow", "timed out after 1s"),
        ("/error", "HTTP 500"),
        ("/html", "did not answer JSON"),
    ],
)
def test_failures_are_clear_and_catchable(api: str, path: str, message: str) -> None:
    with pytest.raises(RetrievalUnavailable, match=message):
        _web(api, path).search("q", 2)


def test_wrong_results_path_names_the_keys(api: str) -> None:
    web = _web(api)
    web.settings = web.settings.model_copy(update={"results_path": "items"})
    with pytest.raises(WebSearchError, match=r"no 'items'.*top level: data"):
        web.search("q", 1)


def test_connection_refused_is_clear() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(WebSearchError, match="failed"):
        _web(f"http://127.0.0.1:{port}").search("q", 1)


class _Static:
    name = "static"

    def search(self, query: str, k: int, filters: object = None) -> list[Passage]:
        return [Passage(text="Local fact.", title="Local", uri="kb://local", rank_score=0.9)]


def test_fused_retriever_goes_on_without_a_failed_web_search(api: str) -> None:
    fused = FusedRetriever([_Static(), _web(api, "/error")])
    passages = fused.search("q", 3)
    assert [p.title for p in passages] == ["Local"]
    assert fused.last_errors and "HTTP 500" in fused.last_errors[0]
    both = FusedRetriever([_Static(), _web(api)]).search("q", 3)
    assert {p.title for p in both} >= {"Local", "Result 0 for q"}


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match=r"\{query\}"):
        WebSearchSettings(url="https://api.example.com/search")
    with pytest.raises(ValueError, match=r"needs \[retrieval\.web\] url"):
        RetrievalSettings(retriever="web")
    with pytest.raises(ValueError, match="chunk_overlap"):
        RetrievalSettings(chunk_tokens=32, chunk_overlap=32)
    assert json_path({"a": [{"b": 1}]}, "a.0.b") == 1
