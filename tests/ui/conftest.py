"""Browser tests of the web chat page: Playwright driving Debian's Chromium, headless.

A real uvicorn server on 127.0.0.1 runs a ChatService with a scripted engine (FakeEngine), a
real SQLite store, real moderation (the default classifier moderator, its head trained on
Parley's shipped set) and real retrieval (an index
built from a few Wikipedia-like documents).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from parley.engines.formats import OpenChatKitFormat
from parley.server.settings import ServerSettings
from parley.service import ChatService
from parley.sessions.sqlite_store import SQLiteSessionStore
from tests.conftest import FakeEngine
from tests.server.conftest import start_server

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-chat.png"

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Short, Wikipedia-like summaries (written for these tests) with Wikipedia addresses.
KNOWLEDGE = [
    (
        "Mona Lisa",
        "The Mona Lisa is a half-length portrait painted by the Italian Renaissance artist "
        "Leonardo da Vinci, probably between 1503 and 1519. It is thought to show Lisa "
        "Gherardini, and it hangs in the Louvre in Paris, where it is among the most visited "
        "works of art in the world.",
        "https://en.wikipedia.org/wiki/Mona_Lisa",
    ),
    (
        "Leonardo da Vinci",
        "Leonardo da Vinci (1452-1519) was an Italian painter, engineer and scientist of the "
        "High Renaissance. His best-known paintings include the Mona Lisa and The Last Supper, "
        "and his notebooks are full of drawings of machines and anatomy.",
        "https://en.wikipedia.org/wiki/Leonardo_da_Vinci",
    ),
    (
        "Louvre",
        "The Louvre in Paris is the world's most visited art museum. A former royal palace on "
        "the Right Bank of the Seine, it holds the Mona Lisa and the Venus de Milo.",
        "https://en.wikipedia.org/wiki/Louvre",
    ),
    (
        "Photosynthesis",
        "Photosynthesis is the process by which plants, algae and some bacteria turn light, "
        "water and carbon dioxide into sugar and oxygen, using the pigment chlorophyll.",
        "https://en.wikipedia.org/wiki/Photosynthesis",
    ),
    (
        "Mount Everest",
        "Mount Everest, on the border of Nepal and China, is Earth's highest mountain above sea "
        "level, at 8,849 metres.",
        "https://en.wikipedia.org/wiki/Mount_Everest",
    ),
    (
        "HTML markup sample <img src=x onerror=alert('title')>",
        "This HTML markup sample document holds raw tags: <img src=x onerror=alert('doc')> "
        "and <script>alert('doc')</script>. A page that shows it must show them as text.",
        "javascript:alert('uri')",
    ),
]


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests (scripts/setup.sh installs them)")
    pytest.skip(reason)


def find_chromium() -> str | None:
    """Debian's Chromium (PARLEY_CHROMIUM overrides the path)."""
    candidates = [
        os.environ.get("PARLEY_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ]
    return next((c for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = find_chromium()
    if path is None:
        _missing("Chromium not found (apt-get install chromium, or set PARLEY_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install playwright)")
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)  # 2-core CI machines can be slow to paint
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@dataclass
class PageUnderTest:
    page: Any
    dialogs: list[str]
    """Messages of every JavaScript dialog (alert, confirm...) the page opened."""
    errors: list[str]
    """Uncaught errors in the page."""

    def owner(self) -> str | None:
        """The sessions owner id this browser has on an open server (from its cookie)."""
        from parley.server.auth import OWNER_COOKIE, browser_owner

        cookies = {c["name"]: c["value"] for c in self.page.context.cookies()}
        return browser_owner(cookies.get(OWNER_COOKIE))

    def new_tab(self) -> Any:
        """Another page of the same browser (same cookies), loaded like the first."""
        page = self.page.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(self.page.url.split("#")[0])
        page.locator("body.ready").wait_for()
        return page

    def shot(self, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        self.page.mouse.move(0, 0)  # no hover effects in the picture
        self.page.screenshot(path=str(path), animations="disabled")
        return path


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., PageUnderTest]]:
    contexts: list[Any] = []

    def open_(
        url: str, width: int = 1280, height: int = 800, wait: bool = True, **options: Any
    ) -> PageUnderTest:
        """A new browser context and page at `url`; `wait`: until the first load is done."""
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        result = PageUnderTest(page, [], [])

        def on_dialog(dialog: Any) -> None:
            result.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: result.errors.append(str(error)))
        page.goto(url)
        if wait:
            page.locator("body.ready").wait_for()
        return result

    yield open_
    for context in contexts:
        context.close()


# -- the real components, built once -------------------------------------------------------------


@pytest.fixture(scope="session")
def ui_embedder(embedder: Any) -> Any:
    return embedder


@pytest.fixture(scope="session")
def ui_moderator(shipped_moderator: Any) -> Any:
    """The default classifier moderator, its head trained on Parley's shipped set."""
    return shipped_moderator


@pytest.fixture(scope="session")
def ui_retrieval(ui_embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Retrieval over an index built from KNOWLEDGE with the parley.retrieval API."""
    from parley.retrieval.build import open_or_build
    from parley.retrieval.retriever import IndexRetriever
    from parley.retrieval.settings import RetrievalSettings
    from parley.wiring import KnowledgeRetrieval

    folder = tmp_path_factory.mktemp("ui-kb")
    docs = folder / "docs"
    docs.mkdir()
    (docs / "wiki.jsonl").write_text(
        "".join(
            json.dumps({"title": title, "text": text, "url": url, "id": title}) + "\n"
            for title, text, url in KNOWLEDGE
        )
    )
    settings = RetrievalSettings(top_k=3)
    built = open_or_build(
        folder / "index", settings, ui_embedder, sources=[str(docs)], progress=False
    )
    retriever = IndexRetriever.from_index(built.index, ui_embedder, settings)
    return KnowledgeRetrieval(retriever, settings)


@dataclass
class ChatServer:
    url: str
    engine: FakeEngine
    store: SQLiteSessionStore
    service: ChatService


@pytest.fixture
def chat_server(
    tmp_path: Path, ui_moderator: Any, ui_retrieval: Any
) -> Iterator[Callable[..., ChatServer]]:
    """Starts a Parley server: `chat_server(engine=..., settings=..., moderation=...,
    retrieval=...)`."""
    from parley.moderation.policy import Policy
    from parley.moderation.settings import ModerationSettings
    from parley.wiring import PolicyModeration

    running: list[Any] = []

    def make(
        engine: FakeEngine | None = None,
        settings: ServerSettings | None = None,
        moderation: ModerationSettings | None = None,
        retrieval: bool = True,
    ) -> ChatServer:
        engine = engine or FakeEngine()
        store = SQLiteSessionStore(tmp_path / f"sessions-{len(running)}.db")
        policy = Policy(moderation or ModerationSettings())
        service = ChatService(
            engine,
            OpenChatKitFormat(),
            store,
            retrieval=ui_retrieval if retrieval else None,
            moderation=PolicyModeration(ui_moderator, policy, None),
            model_name="SmolLM2-135M-Instruct",
        )
        server, url = start_server(service, settings or ServerSettings())
        running.append(server)
        return ChatServer(url, engine, store, service)

    yield make
    for server in running:
        server.should_exit = True
