"""The page's knowledge-base picker and documents panel in a real browser: pick a base, upload
a file and watch it get indexed, see it listed with its chunks, delete it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parley.engines.formats import OpenChatKitFormat
from parley.server.settings import ServerSettings
from parley.service import ChatService
from parley.sessions.sqlite_store import SQLiteSessionStore
from parley.wiring import KnowledgeRetrieval
from tests.conftest import FakeEngine
from tests.server.conftest import start_server
from tests.server.kb_fixtures import KB_SETTINGS, make_bases
from tests.ui.test_chat_page import send, wait_done

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None  # type: ignore[assignment]


def test_pick_a_base_upload_list_and_delete(open_page, tmp_path: Path, ui_embedder: Any) -> None:
    bases = make_bases(tmp_path / "data", ui_embedder)
    engine = FakeEngine([["Noted."], ["Noted."]])
    service = ChatService(
        engine,
        OpenChatKitFormat(),
        SQLiteSessionStore(tmp_path / "sessions.db"),
        retrieval=KnowledgeRetrieval(None, KB_SETTINGS, bases=bases),
    )
    server, url = start_server(service, ServerSettings())
    try:
        ui = open_page(url)
        page = ui.page
        picker = page.locator("#kb-picker")
        expect(page.locator("#kb-bar")).to_be_visible()
        expect(picker.locator("option")).to_have_text(["zoo (5 docs)", "shop (4 docs)"])

        # The picked base answers: its passages are what the model is given.
        picker.select_option("shop")
        wait_done(send(page, "What pushes a piston?"))
        assert "steam pushes a piston" in engine.prompts[-1]
        assert "cheetah" not in engine.prompts[-1].lower()

        page.locator("#kb-open").click()
        dialog = page.locator("#kb-dialog")
        expect(dialog).to_be_visible()
        expect(page.locator("#kb-title")).to_have_text("Documents of shop")
        expect(dialog.locator(".kb-documents li")).to_have_count(4)
        expect(dialog.locator(".kb-doc-name").first).to_have_text("Steam engine (shop.jsonl)")

        upload = tmp_path / "lantern-notes.md"
        upload.write_text("# Lanterns\n\nA lantern burns oil behind glass to give light.\n")
        page.locator("#kb-files").set_input_files(str(upload))
        expect(page.locator("#kb-job-text")).to_contain_text("Added 1 document", timeout=60_000)
        expect(dialog.locator(".kb-documents li")).to_have_count(5)
        row = dialog.locator(".kb-documents li", has_text="lantern-notes.md")
        expect(row.locator(".kb-doc-chunks")).to_have_text("1 chunk")
        expect(page.locator("#kb-summary")).to_contain_text("5 documents")
        ui.shot("knowledge-upload")

        row.get_by_role("button", name="Delete lantern-notes.md").click()
        expect(dialog.locator(".kb-documents li")).to_have_count(4)
        expect(page.locator("#kb-job-text")).to_have_text("Deleted lantern-notes.md.")
        page.locator("#kb-close").click()
        assert not ui.errors and not ui.dialogs
    finally:
        server.should_exit = True
