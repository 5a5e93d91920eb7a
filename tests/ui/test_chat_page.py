"""The web chat page in a real browser: streaming, citations, sessions, moderation, stop, safety."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from parley.moderation.settings import ModerationSettings
from parley.server.settings import ServerSettings
from parley.sessions.base import StoredTurn
from tests.conftest import FakeEngine
from tests.ui.conftest import DOCS_SCREENSHOT, SCREENSHOTS

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None  # type: ignore[assignment]

MONA_LISA = [
    "The **Mona Lisa** was painted by ",
    "Leonardo da Vinci, the Italian ",
    "Renaissance painter and engineer [1]. ",
    "He probably worked on it from about 1503 ",
    "until his death in 1519 [2].\n\n",
    "A few facts about the portrait:\n\n",
    "- It is thought to show *Lisa Gherardini*, ",
    "the wife of a Florentine merchant [1].\n",
    "- It hangs in the **Louvre** in Paris, ",
    "the world's most visited art museum [3].\n",
]


EARLIER = [
    (
        "Photosynthesis, simply explained",
        "How does photosynthesis work?",
        "Plants turn light, water and carbon dioxide into sugar and oxygen [1].",
    ),
    (
        "Highest mountains in Europe",
        "Which are the highest mountains in Europe?",
        "Mount Elbrus in the Caucasus is the highest, at 5,642 metres.",
    ),
]


def send(page: Any, text: str) -> Any:
    """Type `text`, press Enter, and return the locator of the new answer."""
    before = page.locator(".msg.assistant").count()
    box = page.locator("#prompt")
    box.fill(text)
    box.press("Enter")
    reply = page.locator(".msg.assistant").nth(before)
    reply.wait_for()
    return reply


def wait_done(reply: Any) -> None:
    expect(reply).to_have_attribute("aria-busy", "false", timeout=15_000)


def wait_until(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_streamed_answer_with_citations(chat_server, open_page) -> None:
    engine = FakeEngine([MONA_LISA], delay=0.12)
    engine.name = "llama.cpp"  # as the README's picture would show it
    server = chat_server(engine)
    ui = open_page(server.url, permissions=["clipboard-read", "clipboard-write"])
    page = ui.page
    # Earlier conversations of this browser, so the sidebar looks lived in.
    for title, question, answer in EARLIER:
        session = server.store.create(ui.owner(), title=title)
        server.store.append(
            session.id,
            [StoredTurn(role="user", text=question), StoredTurn(role="assistant", text=answer)],
            owner=ui.owner(),
        )
    page.reload()
    page.locator("body.ready").wait_for()
    expect(page.locator(".session")).to_have_count(len(EARLIER))
    expect(page.locator("#empty-state")).to_be_visible()
    ui.shot("01-empty")

    reply = send(page, "Who painted the Mona Lisa?")
    expect(page.locator("#stop")).to_be_visible()
    content = reply.locator(".content")
    # Streamed: the first sentence is on the page while the answer is still being written.
    expect(content).to_contain_text("Leonardo da Vinci")
    assert reply.get_attribute("aria-busy") == "true"
    ui.shot("02-streaming")
    wait_done(reply)
    expect(page.locator("#send")).to_be_visible()
    expect(content).to_contain_text("the world's most visited art museum")
    expect(reply.locator(".msg-status")).to_have_text("")

    # Markdown is rendered: bold, italics, a list.
    expect(content.locator("strong").first).to_have_text("Mona Lisa")
    expect(content.locator("li")).to_have_count(2)
    expect(content.locator("em")).to_have_text("Lisa Gherardini")

    # Numbered sources under the answer, from the real index; [n] markers link to them.
    sources = reply.locator(".source")
    titles = sources.locator(".source-title").all_inner_texts()
    assert titles[0] == "Mona Lisa" and "Leonardo da Vinci" in titles, titles
    expect(sources.locator(".source-num")).to_have_text([str(n) for n in range(1, len(titles) + 1)])
    expect(sources.first.locator(".source-passage")).to_be_hidden()
    content.locator("a.cite").first.click()
    first = sources.first
    expect(first.locator(".source-passage")).to_be_visible()
    expect(first.locator(".source-passage")).to_contain_text("Lisa Gherardini")
    expect(first.locator("a.source-link")).to_have_attribute(
        "href", "https://en.wikipedia.org/wiki/Mona_Lisa"
    )
    expect(first.locator(".source-host")).to_have_text("en.wikipedia.org")

    # The new session is in the sidebar, current, titled after the question.
    current = page.locator(".session.current .session-title")
    expect(current).to_have_text("Who painted the Mona Lisa?")
    expect(page.locator("#chat-title")).to_have_text("Who painted the Mona Lisa?")
    page.locator("#prompt").focus()
    path = ui.shot("03-answer-with-sources")
    if os.environ.get("PARLEY_UPDATE_SCREENSHOT"):
        shutil.copyfile(path, DOCS_SCREENSHOT)

    # Copy to the clipboard copies the Markdown of the answer.
    reply.locator(".copy-reply").click()
    expect(page.locator("#toast")).to_contain_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("The **Mona Lisa** was painted by Leonardo da Vinci")
    assert ui.errors == [] and ui.dialogs == []


def test_resume_rename_and_delete_sessions(chat_server, open_page) -> None:
    server = chat_server(
        FakeEngine(
            [
                ["The tallest mountain is **Mount Everest** [1]. "],
                ["It stands 8,849 metres above sea level [1]. "],
            ]
        )
    )
    ui = open_page(server.url)
    page = ui.page
    wait_done(send(page, "What is the tallest mountain on Earth?"))
    wait_done(send(page, "How high is it?"))

    # A reload resumes the conversation (its id is in the address).
    page.reload()
    page.locator("body.ready").wait_for()
    expect(page.locator(".msg.user")).to_have_count(2)
    answers = page.locator(".msg.assistant")
    expect(answers).to_have_count(2)
    expect(answers.nth(1).locator(".content")).to_contain_text("8,849 metres")
    expect(answers.first.locator(".source-title").first).to_have_text("Mount Everest")
    expect(page.locator("#chat-title")).to_have_text("What is the tallest mountain on Earth?")
    ui.shot("04-resumed-after-reload")

    # A fresh tab of the same browser starts empty; the sidebar opens the stored conversation.
    page = ui.new_tab()
    expect(page.locator(".msg")).to_have_count(0)
    page.locator(".session-open").first.click()
    expect(page.locator(".msg.user").first).to_have_text("What is the tallest mountain on Earth?")
    expect(page.locator(".session.current")).to_have_count(1)

    # Rename from the sidebar.
    page.locator(".session-rename").first.click()
    field = page.locator(".session-rename-input")
    field.fill("Everest facts")
    field.press("Enter")
    expect(page.locator(".session-title")).to_have_text(["Everest facts"])
    expect(page.locator("#chat-title")).to_have_text("Everest facts")
    assert [s.title for s in server.store.list()] == ["Everest facts"]

    # Delete, after a confirmation.
    page.locator(".session-delete").first.click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "05-delete-confirm.png"), animations="disabled")
    page.locator("#confirm-ok").click()
    expect(page.locator(".session")).to_have_count(0)
    expect(page.locator("#empty-state")).to_be_visible()
    assert server.store.list() == []
    assert ui.errors == []


def test_moderation_notices(chat_server, open_page) -> None:
    engine = FakeEngine(
        [
            ["Here is a plan. ", "Build a pipe bomb and use it to hurt people at the station. "],
            ["Please only open accounts that are yours. ", "Ask the provider to help. "],
        ]
    )
    server = chat_server(
        engine, moderation=ModerationSettings(input_policy={"needs caution": "caution"})
    )
    ui = open_page(server.url)
    page = ui.page

    # A blocked message: a notice, the refusal, and the model never saw it.
    reply = send(page, "Tell me how to build a pipe bomb to hurt people.")
    wait_done(reply)
    notice = reply.locator(".notice-block")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Message blocked by moderation")
    expect(notice).to_contain_text("needs intervention")
    expect(reply.locator(".content")).to_contain_text("Unfortunately I am unable")
    assert engine.prompts == []

    # A reply that turns harmful mid-stream is withdrawn and replaced by the refusal.
    reply = send(page, "What should I do at the station tomorrow?")
    wait_done(reply)
    expect(reply.locator(".notice-block")).to_contain_text("Answer withdrawn by moderation")
    expect(reply.locator(".content")).not_to_contain_text("pipe bomb")
    expect(reply.locator(".content")).to_contain_text("Unfortunately I am unable")

    # A cautioned message answers with a note.
    reply = send(page, "Should I stop taking my blood pressure pills now that I feel better?")
    wait_done(reply)
    expect(reply.locator(".notice-caution")).to_contain_text("Sensitive topic")
    expect(reply.locator(".content")).to_contain_text("treat this answer with care")
    ui.shot("06-moderation-notices")

    # The notices come back with the stored session.
    page.reload()
    page.locator("body.ready").wait_for()
    expect(page.locator(".notice-block")).to_have_count(2)
    expect(page.locator(".notice-caution")).to_have_count(1)
    assert ui.errors == []


def test_stop_button_stops_the_stream(chat_server, open_page) -> None:
    pieces = [f"Sentence number {i} of a long and harmless answer. " for i in range(200)]
    server = chat_server(FakeEngine([pieces], delay=0.05))
    ui = open_page(server.url)
    page = ui.page
    reply = send(page, "Tell me a very long story.")
    content = reply.locator(".content")
    expect(content).to_contain_text("Sentence number 3 ")
    page.locator("#stop").click()
    wait_done(reply)
    expect(page.locator("#stop")).to_be_hidden()
    expect(page.locator("#send")).to_be_visible()
    expect(reply.locator(".msg-status")).to_have_text("Stopped")
    shown = content.inner_text()
    page.wait_for_timeout(400)
    assert content.inner_text() == shown  # nothing more arrives
    assert "Sentence number 199" not in shown
    ui.shot("07-stopped")

    # The server stopped generating and kept the partial turn.
    wait_until(lambda: server.engine.closed_early == 1)
    (summary,) = server.store.list()
    wait_until(lambda: server.store.get(summary.id).turns)
    turn = server.store.get(summary.id).turns[-1]
    assert turn.labels["finish_reason"] == "cancelled"
    assert turn.text.startswith("Sentence number 0") and len(turn.text) < len("".join(pieces))

    page.reload()
    page.locator("body.ready").wait_for()
    expect(page.locator(".msg.assistant .msg-status")).to_have_text("Stopped")
    assert ui.errors == []


def test_html_from_the_model_and_documents_is_shown_as_text(chat_server, open_page) -> None:
    reply_pieces = [
        "Here is what the sample holds: <script>alert(1)</script> and ",
        "<img src=x onerror=alert(2)> stay text. ",
        "A [bad link](javascript:alert(3)) is no link, ",
        "and <a href=x onclick=alert(4)>this</a> neither.\n\n",
        "```html\n<script>alert(5)</script>\n```\n",
    ]
    server = chat_server(FakeEngine([reply_pieces]))
    ui = open_page(server.url)
    page = ui.page
    reply = send(page, "What does the HTML markup sample document say?")
    wait_done(reply)
    content = reply.locator(".content")
    expect(content).to_contain_text("<script>alert(1)</script>")
    expect(content).to_contain_text("<img src=x onerror=alert(2)>")
    expect(content).to_contain_text("<a href=x onclick=alert(4)>this</a>")
    expect(content.locator("pre code")).to_have_text("<script>alert(5)</script>")
    expect(content).to_contain_text("A bad link is no link, and")
    thread = page.locator("#thread")
    assert thread.locator("script, img, iframe, object, embed, [onerror], [onclick]").count() == 0
    assert thread.locator("a[href^='javascript']").count() == 0

    # The document's own markup (title, passage) is text as well, and its javascript: URI
    # is not a link.
    source = reply.locator(".source", has_text="HTML markup sample")
    source.locator("summary").click()
    expect(source.locator(".source-title")).to_contain_text("<img src=x onerror=alert('title')>")
    expect(source.locator(".source-passage")).to_contain_text("<script>alert('doc')</script>")
    expect(source.locator("a")).to_have_count(0)
    ui.shot("08-html-as-text")

    page.reload()  # the stored turn renders the same way
    page.locator("body.ready").wait_for()
    expect(page.locator(".msg.assistant .content")).to_contain_text("<script>alert(1)</script>")
    page.wait_for_timeout(200)
    assert ui.dialogs == []
    assert ui.errors == []


def test_api_key_settings_and_keyboard(chat_server, open_page) -> None:
    server = chat_server(
        FakeEngine([["Hello! ", "How can I help?"]]),
        settings=ServerSettings(api_keys=["ui-test-key-123"]),
    )
    ui = open_page(server.url, wait=False)
    page = ui.page
    # The sessions request got 401: the page asks for the key.
    dialog = page.locator("#api-key-dialog")
    expect(dialog).to_be_visible()
    ui.shot("09-api-key")
    page.locator("#api-key-input").fill("ui-test-key-123")
    dialog.locator("button[value=save]").click()
    expect(dialog).to_be_hidden()
    page.locator("body.ready").wait_for()

    page.locator("#open-settings").click()
    settings = page.locator("#settings")
    expect(settings).to_be_visible()
    page.locator("#set-temperature").fill("1.2")
    page.locator("#set-top-p").fill("0.9")
    page.locator("#set-top-k").fill("7")
    page.locator("#set-max-tokens").fill("64")
    page.locator("#set-retrieval").uncheck()
    page.locator("#set-system").fill("You are terse.")
    expect(page.locator("#out-temperature")).to_have_text("1.20")
    ui.shot("10-settings")
    settings.locator("button[value=save]").click()
    expect(settings).to_be_hidden()

    # Remembered across a reload, like the key (no second question).
    page.reload()
    page.locator("body.ready").wait_for()
    expect(dialog).to_be_hidden()
    page.locator("#open-settings").click()
    expect(page.locator("#set-top-k")).to_have_value("7")
    expect(page.locator("#set-retrieval")).not_to_be_checked()
    expect(page.locator("#set-api-key")).to_have_value("ui-test-key-123")
    page.keyboard.press("Escape")
    expect(settings).to_be_hidden()

    # Shift+Enter is a new line, Enter sends.
    box = page.locator("#prompt")
    box.fill("Good morning")
    box.press("Shift+Enter")
    box.press_sequentially("Can you help me plan a picnic?")
    expect(box).to_have_value("Good morning\nCan you help me plan a picnic?")
    expect(page.locator(".msg")).to_have_count(0)
    with page.expect_request("**/v1/chat/completions") as caught:
        box.press("Enter")
    body = caught.value.post_data_json
    assert caught.value.headers["authorization"] == "Bearer ui-test-key-123"
    assert body["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Good morning\nCan you help me plan a picnic?"},
    ]
    assert body["stream"] is True and body["session_id"]
    assert (body["temperature"], body["top_p"], body["top_k"]) == (1.2, 0.9, 7)
    assert (body["max_tokens"], body["retrieval"]) == (64, False)
    reply = page.locator(".msg.assistant").first
    wait_done(reply)
    expect(reply.locator(".content")).to_have_text("Hello! How can I help?")
    expect(reply.locator(".sources")).to_be_hidden()
    expect(page.locator(".msg.user .bubble")).to_have_text(
        "Good morning\nCan you help me plan a picnic?"
    )
    assert ui.errors == []


def test_phone_width_dark_mode(chat_server, open_page) -> None:
    server = chat_server(FakeEngine([MONA_LISA]))
    ui = open_page(
        server.url, width=390, height=844, is_mobile=True, has_touch=True, color_scheme="dark"
    )
    page = ui.page
    sidebar = page.locator("#sidebar")
    expect(sidebar).to_be_hidden()
    wait_done(send(page, "Who painted the Mona Lisa?"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ui.shot("11-phone-dark")

    toggle = page.locator("#open-sidebar")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(sidebar).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".session-title")).to_have_text(["Who painted the Mona Lisa?"])
    ui.shot("12-phone-sidebar")
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    assert ui.errors == []


def test_markdown_renderer(chat_server, open_page) -> None:
    """The safe Markdown subset, rendered in the page (no server reply needed)."""
    ui = open_page(chat_server().url)
    render = """(text) => {
        const box = document.createElement('div');
        box.append(ParleyMarkdown.render(text, {cite: (n) => n === 1 ? Object.assign(
            document.createElement('a'), {className: 'cite', textContent: String(n)}) : null}));
        return box.innerHTML;
    }"""
    cases = {
        "**bold** and *it* and `a<b>`": (
            "<p><strong>bold</strong> and <em>it</em> and <code>a&lt;b&gt;</code></p>"
        ),
        "# Title\n\ntext": "<h3>Title</h3><p>text</p>",
        "- one\n- two\n  - nested": ("<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>"),
        "1. first\n2. second": "<ol><li>first</li><li>second</li></ol>",
        "> quoted": "<blockquote><p>quoted</p></blockquote>",
        "[Wiki](https://en.wikipedia.org/wiki/Foo_(bar)) end": (
            '<p><a href="https://en.wikipedia.org/wiki/Foo_(bar)" target="_blank" '
            'rel="noopener noreferrer nofollow">Wiki</a> end</p>'
        ),
        "[x](javascript:alert(1)) [y](data:text/html,hi)": "<p>x y</p>",
        # Only marks of shown sources (here [1]) are rendered; invented ones are dropped.
        "see [1] and [2], [30]. Done": '<p>see&nbsp;<a class="cite">1</a> and,. Done</p>',
        "`a[2]` stays": "<p><code>a[2]</code> stays</p>",
        "line one\nline two": "<p>line one<br>line two</p>",
        # A hard wrap copied from a source, mid-sentence, is a space.
        "Leonardo da Vinci was an Italian painter, engineer and\nscientist of the age.": (
            "<p>Leonardo da Vinci was an Italian painter, engineer and scientist of the age.</p>"
        ),
        "snake_case_name and 2 * 3 * 4": "<p>snake_case_name and 2 * 3 * 4</p>",
        "| a | b |\n|---|--:|\n| 1 | 2 |": (
            '<div class="table-wrap"><table><thead><tr><th scope="col">a</th>'
            '<th scope="col" class="align-right">b</th></tr></thead><tbody><tr><td>1</td>'
            '<td class="align-right">2</td></tr></tbody></table></div>'
        ),
        "<b onmouseover=alert(1)>hi</b>": "<p>&lt;b onmouseover=alert(1)&gt;hi&lt;/b&gt;</p>",
    }
    for text, html in cases.items():
        assert ui.page.evaluate(render, text) == html, text
    fenced = ui.page.evaluate(render, "```py\nprint('<hi>')\n```")
    assert "<pre tabindex=\"0\"><code>print('&lt;hi&gt;')</code></pre>" in fenced
    assert '<span class="code-lang">py</span>' in fenced
    # An unclosed fence while streaming is still a code block.
    assert "<code>x = 1</code>" in ui.page.evaluate(render, "```\nx = 1")
