"""Thumbs up/down under answers on the web page, stored with the turn and shown again later."""

from __future__ import annotations

from typing import Any

from tests.conftest import FakeEngine
from tests.ui.test_chat_page import expect, send, wait_done, wait_until


def _feedback(server: Any, session_id: str, turn: int) -> Any:
    session = server.store.get(session_id)
    return session.turns[turn].feedback if session and len(session.turns) > turn else None


def test_rate_an_answer_with_a_comment_and_see_it_after_reload(chat_server, open_page) -> None:
    server = chat_server(FakeEngine([["Hello ", "there."]]))
    ui = open_page(server.url)
    page = ui.page
    reply = send(page, "Hi")
    wait_done(reply)
    good = reply.locator(".rate-good")
    expect(good).to_be_visible()
    (session,) = server.store.list()
    good.click()
    expect(good).to_have_attribute("aria-pressed", "true")
    expect(reply.locator(".rate-bad")).to_have_attribute("aria-pressed", "false")
    wait_until(lambda: _feedback(server, session.id, 1) is not None)
    assert _feedback(server, session.id, 1).rating == "good"
    comment = reply.locator(".rate-comment")
    comment.fill("Friendly")
    comment.press("Enter")
    wait_until(lambda: _feedback(server, session.id, 1).comment == "Friendly")

    # The same browser (its owner cookie) reloads the conversation: another browser would
    # not see it on an open server.
    page.goto(f"{server.url}/#session={session.id}")
    page.reload()
    stored = page.locator(".msg.assistant").first
    expect(stored.locator(".rate-good")).to_have_attribute("aria-pressed", "true")
    stored.locator(".rate-good").click()  # pressing it again removes the rating
    expect(stored.locator(".rate-good")).to_have_attribute("aria-pressed", "false")
    wait_until(lambda: _feedback(server, session.id, 1) is None)
    assert not ui.errors
