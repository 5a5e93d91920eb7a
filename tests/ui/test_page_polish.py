"""The page's finer points in a real browser: suggestions from the knowledge base, sources
shown without server paths and with their place in the document, only real citation marks,
hard wraps undone, one sidebar per browser, and the CSP sent as a header."""

from __future__ import annotations

from typing import Any

import httpx

from parley.sessions.base import StoredTurn
from tests.conftest import FakeEngine
from tests.ui.conftest import KNOWLEDGE
from tests.ui.test_chat_page import send, wait_done

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None  # type: ignore[assignment]

TITLES = {title for title, _, _ in KNOWLEDGE}


def test_suggestions_come_from_the_knowledge_base(chat_server, open_page) -> None:
    server = chat_server(FakeEngine([["Photosynthesis turns light into sugar [1]. "]]))
    ui = open_page(server.url)
    page = ui.page
    buttons = page.locator("#suggestions .suggestion")
    expect(buttons).to_have_count(3)
    asked = buttons.all_inner_texts()
    for question in asked:
        assert question.startswith("Tell me about ")
        assert question.removeprefix("Tell me about ") in TITLES, asked
    assert not any("<" in q for q in asked)  # titles with markup are left out
    ui.shot("11-suggestions")
    question = asked[0]
    buttons.first.click()
    expect(page.locator(".msg.user .bubble")).to_have_text(question)
    wait_done(page.locator(".msg.assistant").first)
    assert ui.errors == []


def test_no_suggestions_without_a_knowledge_base(chat_server, open_page) -> None:
    server = chat_server(retrieval=False)
    ui = open_page(server.url)
    expect(ui.page.locator("#empty-state")).to_be_visible()
    expect(ui.page.locator("#suggestions")).to_be_hidden()
    expect(ui.page.locator(".suggestion")).to_have_count(0)
    assert "Mona Lisa" not in ui.page.content()  # no hard-coded questions left


DPKG = "Triggers let a package ask for processing\nwhen another package changes a file.\n\nMore"
SOURCES = [
    {
        "title": "dpkg triggers",
        "uri": "/home/admin/docs/dpkg/triggers.txt",  # a stored turn from before the fix
        "document": "dpkg/triggers.txt",
        "section": "Introduction",
        "snippet": DPKG,
        "score": 0.8,
    },
    {
        "title": "dpkg triggers",
        "uri": "",
        "document": "dpkg/triggers.txt",
        "section": "Activation",
        "page": 3,
        "snippet": "An interest in a path\nactivates the trigger.",
        "score": 0.7,
    },
    {
        "title": "dpkg triggers",
        "uri": "",
        "document": "dpkg/triggers.txt",
        "snippet": "Deferred processing\nruns once at the end.",
        "score": 0.6,
    },
    {
        "title": "dpkg triggers",
        "uri": "",
        "document": "dpkg/triggers.txt",
        "snippet": "Another passage of the\nsame document.",
        "score": 0.5,
    },
]
ANSWER = (
    "Triggers run when another package changes a watched file [1], and an interest in a path\n"
    "activates them [2]. They are deferred to the end [3] [9]. Invented marks [5][7] are not shown."
)


def stored_conversation(server: Any, owner: str | None) -> str:
    session = server.store.create(owner, title="dpkg triggers")
    server.store.append(
        session.id,
        [
            StoredTurn(role="user", text="How do dpkg triggers work?"),
            StoredTurn(role="assistant", text=ANSWER, sources=SOURCES),
        ],
        owner=owner,
    )
    return session.id


def test_sources_show_where_they_are_and_no_server_path(chat_server, open_page) -> None:
    server = chat_server()
    ui = open_page(server.url)
    page = ui.page
    session_id = stored_conversation(server, ui.owner())
    page.goto(f"{server.url}/#session={session_id}")
    page.reload()
    page.locator("body.ready").wait_for()
    reply = page.locator(".msg.assistant").first
    expect(reply.locator(".source")).to_have_count(4)

    # Four passages of one document: each row says where in it the passage is.
    expect(reply.locator(".source-where")).to_have_text(
        ["Introduction", "Activation · p. 3", "excerpt 1", "excerpt 2"]
    )
    for item in reply.locator(".source details").all():
        item.locator("summary").click()
    # The file's name in the collection, never its path on the server.
    expect(reply.locator(".source-document").first).to_have_text("dpkg/triggers.txt")
    assert "/home/admin" not in page.locator("body").inner_text()
    assert "/home/admin" not in page.content()

    # The passage's hard wraps are undone; its paragraphs stay apart.
    passage = reply.locator(".source-passage").first
    assert passage.inner_text() == (
        "Triggers let a package ask for processing when another package changes a file.\n\nMore"
    )
    # ... and so are the ones the answer copied from it.
    content = reply.locator(".content")
    expect(content.locator("br")).to_have_count(0)
    expect(content).to_contain_text("an interest in a path activates them")

    # Only marks that match a shown source are rendered.
    expect(content.locator("a.cite")).to_have_text(["1", "2", "3"])
    text = content.inner_text()
    for invented in ("[5]", "[7]", "[9]", "5", "7", "9"):
        assert invented not in text, text
    assert "to the end\u00a03. Invented marks are not shown." in text, text
    ui.shot("12-sources-of-one-document")
    assert ui.errors == []


def test_streamed_invented_marks_are_not_rendered(chat_server, open_page) -> None:
    engine = FakeEngine([["The Mona Lisa is in the Louvre [1]", " [4]. It is famous [12]."]])
    server = chat_server(engine)
    ui = open_page(server.url)
    reply = send(ui.page, "Where is the Mona Lisa?")
    wait_done(reply)
    content = reply.locator(".content")
    count = reply.locator(".source").count()
    assert 1 <= count < 4
    expect(content.locator("a.cite")).to_have_text(["1"])
    expect(content).to_have_text("The Mona Lisa is in the Louvre\u00a01. It is famous.")


def test_each_browser_sees_only_its_own_sessions(chat_server, open_page) -> None:
    engine = FakeEngine([["Hello from one. "], ["Hello from two. "], ["Hi API. "]])
    server = chat_server(engine)
    first = open_page(server.url)
    second = open_page(server.url)  # another browser: a new context, its own cookies
    wait_done(send(first.page, "I am the first browser"))
    wait_done(send(second.page, "I am the second browser"))
    # An API client without the cookie keeps working, and its sessions stay its own.
    with httpx.Client(base_url=server.url) as api:
        created = api.post("/v1/sessions", json={"title": "API session"})
        assert created.status_code == 201
        body = {"messages": [{"role": "user", "content": "hi"}], "session_id": created.json()["id"]}
        assert api.post("/v1/chat/completions", json=body).status_code == 200
        assert [s["title"] for s in api.get("/v1/sessions").json()["data"]] == ["API session"]

    for ui, mine in ((first, "I am the first browser"), (second, "I am the second browser")):
        ui.page.reload()
        ui.page.locator("body.ready").wait_for()
        expect(ui.page.locator(".session-title")).to_have_text([mine])
        # The owner cookie is HttpOnly: page scripts cannot read or steal it.
        assert ui.page.evaluate("document.cookie") == ""
        cookie = next(c for c in ui.page.context.cookies() if c["name"] == "parley_owner")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert first.owner() != second.owner()
    owners = {s.title: s.owner for s in server.store.list()}
    assert owners["API session"] is None
    assert owners["I am the first browser"] == first.owner()
    second.shot("13-own-sidebar")

    # Another browser cannot open the first one's conversation by its address.
    session_id = server.store.list(first.owner())[0].id
    # A fresh load of the address (a hash change on the open page would race a reload: the
    # page drops the unknown hash from the address as soon as it has said so).
    second.page.goto("about:blank")
    second.page.goto(f"{server.url}/#session={session_id}")
    expect(second.page.locator("#toast")).to_contain_text("no longer exists")
    assert first.errors == [] and second.errors == []


def test_csp_is_a_header_and_the_page_loads_without_violations(chat_server, open_page) -> None:
    server = chat_server()
    response = httpx.get(server.url + "/")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert 'http-equiv="Content-Security-Policy"' not in response.text

    ui = open_page(server.url, wait=False)
    messages: list[str] = []
    ui.page.on("console", lambda message: messages.append(message.text))
    ui.page.reload()
    ui.page.locator("body.ready").wait_for()
    # An inline script is refused by the header's policy.
    ui.page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = 1'; document.body.append(s); }"
    )
    assert ui.page.evaluate("window.injected") is None
    assert not any("frame-ancestors" in m for m in messages), messages
    assert ui.errors == []
