"""The chat UI in a real Chromium against a real Nexus, the real OpenCode and the fake model
provider (tests/fakes/fake_llm.py: TOOL:, THINK, SLOW, FAIL, BURST:, else a hello reply).

One Nexus (with one OpenCode) serves the whole module; each test starts from no active
session. Screenshots (desktop 1440x900 and phone 375x812, light and dark) and axe reports
go to test-results/screenshots/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from .chat_fixtures import ChatNexus, module_chat_nexus, seed_long_session
from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.opencode, pytest.mark.slow]

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
REPLY = 15_000  # ms: bound on any one reply from OpenCode + the fake provider
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture(scope="module")
def nexus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatNexus]:
    with module_chat_nexus(tmp_path_factory.mktemp("chat-ui")) as nx:
        yield nx


class Watch:
    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.urls: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("websocket", lambda ws: self.urls.append(ws.url))

    @property
    def hosts(self) -> set[str]:
        return {urlsplit(u).hostname or "" for u in self.urls if urlsplit(u).scheme not in ("data", "blob", "about")}


@pytest.fixture
def open_page(new_page: Any, fresh: ChatNexus) -> Any:
    def _open(path: str = "/", **options: Any) -> tuple[Page, Watch]:
        options.setdefault("viewport", DESKTOP)
        page = new_page(fresh.url, **options)
        watch = Watch(page)
        page.goto(path)
        return page, watch

    return _open


def wait_live(page: Page) -> None:
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)


def new_card(page: Page, title: str) -> Any:
    page.get_by_role("button", name="New session").first.click()
    dialog = page.locator("#new-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Title").fill(title)
    expect(dialog.get_by_label("Agent", exact=True)).to_contain_text("build", timeout=REPLY)
    dialog.get_by_role("button", name="Start").click()
    card = page.locator(".session.card", has=page.get_by_role("link", name=title, exact=True))
    expect(card).to_have_attribute("data-loaded", "1", timeout=10_000)
    return page.locator(f'.session.card[data-session="{card.get_attribute("data-session")}"]')


def send(scope: Any, text: str) -> None:
    box = scope.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("", timeout=5_000)


def ask(scope: Any, text: str) -> None:
    """Send and wait until the whole reply is in and the session is idle again."""
    users = scope.locator('.msg[data-role="user"]')
    before = users.count()
    send(scope, text)
    expect(users).to_have_count(before + 1, timeout=REPLY)
    expect(scope.locator(".msg").last).to_have_attribute("data-role", "assistant", timeout=REPLY)
    expect(scope.locator(".msg").last).to_have_attribute("data-done", "1", timeout=REPLY)
    idle(scope)


def last_reply(scope: Any) -> Any:
    return scope.locator('.msg[data-role="assistant"]').last


def idle(scope: Any) -> None:
    expect(scope).to_have_attribute("data-status", "idle", timeout=REPLY)


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"chat-{name}.png"
    page.screenshot(path=path)
    return path


def no_horizontal_scroll(page: Page) -> None:
    sizes = page.evaluate("({doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,"
                          " inner: innerWidth})")
    assert sizes["doc"] <= sizes["inner"] and sizes["body"] <= sizes["inner"], sizes


def axe_serious(page: Page, name: str) -> list[dict]:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    assert results.response.get("testEngine", {}).get("name") == "axe-core", "axe did not run"
    violations = results.response["violations"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"chat-axe-{name}.json").write_text(json.dumps(violations, indent=2))
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}" for v in violations
            if v.get("impact") in ("serious", "critical")]


# ----- the main journey ------------------------------------------------------------------------

def test_two_cards_stream_tools_permission_stop_and_reload(open_page: Any) -> None:
    page, watch = open_page("/")
    wait_live(page)
    expect(page.get_by_role("heading", name="No sessions yet — start one")).to_be_visible()
    shot(page, "empty-desktop-light")

    one = new_card(page, "First card")
    two = new_card(page, "Second card")
    expect(page.locator(".session.card")).to_have_count(2)

    # Prompts in both cards stream at the same time.
    send(one, "ping from one")
    send(two, "THINK")
    expect(last_reply(one)).to_contain_text("Hello from fake LLM. You said: ping from one", timeout=REPLY)
    expect(last_reply(two).locator(".md")).to_have_text("The answer is 42.", timeout=REPLY)
    idle(one)
    idle(two)
    reasoning = two.locator("details.reasoning")
    expect(reasoning).to_contain_text("Thinking")
    reasoning.locator("summary").click()
    expect(reasoning.locator(".reasoning-body")).to_have_text(re.compile(r"Let me think about this carefully"))
    # Token counters moved.
    expect(one.locator(".counters .tokens")).not_to_have_text("0 tokens")

    # A tool call that needs permission: the card's badge and the page title say so.
    send(one, "TOOL:echo allowed-by-test")
    prompt = one.locator(".permission")
    expect(prompt).to_contain_text("echo allowed-by-test", timeout=REPLY)
    expect(one.locator(".badge.status")).to_have_text("Needs you")
    expect(page).to_have_title(re.compile(r"^\(1\) Needs you"))
    shot(page, "permission-desktop-light")
    # Answered from the keyboard; the prompt goes and focus lands in the message box, not on <body>.
    prompt.get_by_role("button", name="Allow once").focus()
    page.keyboard.press("Enter")
    expect(prompt).to_have_count(0, timeout=REPLY)
    expect(one.get_by_label("Message", exact=True)).to_be_focused()
    expect(last_reply(one)).to_contain_text("Tool said: allowed-by-test", timeout=REPLY)
    idle(one)
    # The finished reply is announced once, politely (the transcript itself is not live).
    expect(page.locator("body > .visually-hidden[role=status][aria-live=polite]")).to_contain_text(
        "reply finished", timeout=REPLY)
    expect(page).to_have_title("Sessions · Nexus")
    tool = one.locator("details.tool").last
    expect(tool).to_have_attribute("data-status", "completed")
    expect(tool.locator("summary")).to_contain_text("bash")
    expect(tool.locator(".tool-body")).not_to_be_visible()
    tool.locator("summary").click()
    expect(tool.locator(".tool-body")).to_contain_text("$ echo allowed-by-test")
    expect(tool.locator(".tool-body")).to_contain_text("allowed-by-test")

    # Deny with a message.
    send(two, "TOOL:echo denied-by-test")
    prompt = two.locator(".permission")
    expect(prompt).to_be_visible(timeout=REPLY)
    prompt.get_by_label("Message with a denial").fill("not this time")
    prompt.get_by_role("button", name="Deny").click()
    denied = two.locator("details.tool").last
    expect(denied).to_have_attribute("data-status", "error", timeout=REPLY)
    idle(two)

    # Stop a reply mid-stream; Stop (and Queue) show while busy, Send while idle.
    send(one, "SLOW")
    expect(last_reply(one)).to_contain_text("word3", timeout=REPLY)
    expect(one.get_by_role("button", name="Send")).to_be_hidden()
    expect(one.get_by_role("button", name="Queue")).to_be_visible()
    one.get_by_role("button", name="Stop").click()
    expect(last_reply(one).locator(".msg-stopped")).to_have_text("Stopped.", timeout=REPLY)
    idle(one)
    expect(one.get_by_role("button", name="Send")).to_be_visible()
    shot(page, "cards-desktop-light")

    # Reload: everything is still there (from the server's snapshot).
    stopped_text = last_reply(one).locator(".md").inner_text()
    page.reload()
    wait_live(page)
    one = page.locator(".session.card", has=page.get_by_role("link", name="First card", exact=True))
    two = page.locator(".session.card", has=page.get_by_role("link", name="Second card", exact=True))
    expect(one).to_have_attribute("data-loaded", "1")
    expect(one.locator(".msg")).to_have_count(7)  # 2 + 3 (tool call, then reply) + 2
    expect(one).to_contain_text("Hello from fake LLM. You said: ping from one")
    expect(one).to_contain_text("Tool said: allowed-by-test")
    expect(last_reply(one).locator(".msg-stopped")).to_have_text("Stopped.")
    assert last_reply(one).locator(".md").inner_text() == stopped_text
    expect(two.locator("details.tool").last).to_have_attribute("data-status", "error")
    expect(two.locator("details.reasoning")).to_have_count(1)
    assert not watch.errors, watch.errors
    assert watch.hosts == {"127.0.0.1"}, watch.hosts


def test_full_view_follow_up_and_phone_layout(open_page: Any, fresh: ChatNexus) -> None:
    session = fresh.runtime.chat.create(title="Phone session")
    for scheme in ("light", "dark"):
        page, watch = open_page(f"/s/{session['id']}", color_scheme=scheme, **PHONE)
        wait_live(page)
        view = page.locator(".session.full")
        expect(view).to_have_attribute("data-loaded", "1")
        if scheme == "light":
            # On a phone Enter makes a new line; the button sends.
            box = view.get_by_label("Message", exact=True)
            box.fill("first line")
            box.press("Enter")
            box.type("second line")
            expect(box).to_have_value("first line\nsecond line")
            view.get_by_role("button", name="Send").click()
            expect(last_reply(view)).to_contain_text("You said: first line\nsecond line", timeout=REPLY)
            idle(view)
            box.fill("code:\n\n```python\nprint('hi')\n```")
            view.get_by_role("button", name="Send").click()
            expect(last_reply(view).locator(".code-block")).to_have_count(1, timeout=REPLY)
            expect(last_reply(view).locator(".hljs")).to_have_count(1, timeout=5_000)
            idle(view)
        no_horizontal_scroll(page)
        # The input sits at the bottom of the screen.
        box = view.get_by_label("Message", exact=True).bounding_box()
        assert box and 812 - (box["y"] + box["height"]) < 80, box
        shot(page, f"full-phone-{scheme}")
        home, _ = open_page("/", color_scheme=scheme, **PHONE)
        wait_live(home)
        expect(home.locator(".session.card")).to_have_count(1)
        no_horizontal_scroll(home)
        shot(home, f"cards-phone-{scheme}")
        assert not watch.errors, watch.errors


def test_reconnect_mid_stream_has_no_gap_or_duplicate(open_page: Any, fresh: ChatNexus, browser: Browser) -> None:
    session = fresh.runtime.chat.create(title="Flaky network")
    routes: list[Any] = []

    def proxy(route: Any) -> None:
        route.connect_to_server()  # forwards both ways; kept so the test can cut it
        routes.append(route)

    context = browser.new_context(base_url=fresh.url, viewport=DESKTOP)
    try:
        context.route_web_socket(re.compile(r".*/api/chat/stream$"), proxy)
        page = context.new_page()
        page.goto(f"/s/{session['id']}")
        wait_live(page)
        view = page.locator(".session.full")
        expect(view).to_have_attribute("data-loaded", "1")
        # A second client on the same session, over SSE, stays in step.
        other, _ = open_page(f"/s/{session['id']}?transport=sse")
        wait_live(other)
        expect(other.locator("#conn")).to_have_attribute("data-transport", "sse")

        count = 120
        send(view, f"BURST:{count}:25")
        expect(last_reply(view)).to_contain_text("tok20 ", timeout=REPLY)
        assert len(routes) == 1
        routes[0].close(code=1006 if False else 1001, reason="test drops the connection")
        expect(page.locator("#conn")).to_have_attribute("data-state", "offline", timeout=5_000)
        wait_live(page)
        assert len(routes) == 2, "reconnected through a new WebSocket"
        idle(view)
        expected = "".join(f"tok{i} " for i in range(count)).strip()
        reply = last_reply(view).locator(".md")
        expect(reply).to_have_text(expected)
        expect(last_reply(other).locator(".md")).to_have_text(expected, timeout=REPLY)
        stats = page.evaluate("nexusChat.store.stats")
        assert stats["gaps"] == 0 and stats["duplicates"] == 0, stats
        assert stats["snapshots"] == 1, f"caught up from the replay buffer, not a new snapshot: {stats}"
        assert page.evaluate("nexusChat.connection.connects") >= 2
    finally:
        context.close()


@pytest.mark.parametrize("csp", ["with-csp", "without-csp"])
def test_model_and_tool_output_never_runs_script(open_page: Any, fresh: ChatNexus, csp: str) -> None:
    """The fake model echoes the prompt, so the prompt is the model's output. Run once with the
    page's CSP and once with it bypassed: sanitizing alone must be enough."""
    evil_title = '<img src=x onerror="window.__xss=\'title\'">'
    session = fresh.runtime.chat.create(title=evil_title)
    page, watch = open_page(f"/s/{session['id']}", bypass_csp=csp == "without-csp")
    wait_live(page)
    view = page.locator(".session.full")
    expect(view.locator(".session-title")).to_have_text(evil_title)
    # The fake echoes at most 200 characters of a prompt: two prompts carry the payloads.
    payloads = ['x\n\n<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> '
                '[ok link](https://example.com/) <a href="javascript:window.__xss=3">js</a> <svg onload="window.__xss=4">',
                'y\n\n<iframe src="javascript:parent.__xss=5"></iframe> [md link](javascript:window.__xss=6) '
                '<details open ontoggle="window.__xss=7">d</details> <style>*{display:none}</style>end']
    for text in payloads:
        ask(view, text)
    reply = view.locator('.msg[data-role="assistant"]').first
    expect(last_reply(view)).to_contain_text("end")
    send(view, "TOOL:echo '<img src=x onerror=window.__xss=5><script>window.__xss=6</script>'")
    prompt = view.locator(".permission")
    expect(prompt).to_be_visible(timeout=REPLY)
    prompt.get_by_role("button", name="Allow once").click()
    tool = view.locator("details.tool").last
    expect(tool).to_have_attribute("data-status", "completed", timeout=REPLY)
    idle(view)
    tool.locator("summary").click()
    expect(tool.locator(".tool-pre").last).to_contain_text("<img src=x onerror=window.__xss=5>")
    page.wait_for_timeout(300)  # let any (wrongly) inserted image fail to load
    assert page.evaluate("window.__xss") is None
    assert page.locator(".transcript script, .transcript iframe, .transcript svg").count() == 0
    handlers = page.evaluate("""[...document.querySelectorAll('.transcript *')].flatMap(e =>
        [...e.attributes].filter(a => a.name.startsWith('on') || /^\\s*javascript:/i.test(a.value))
        .map(a => e.tagName + ' ' + a.name))""")
    assert handlers == [], handlers
    link = reply.get_by_role("link", name="ok link")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    # The user's own message is shown as text, exactly as typed.
    expect(view.locator('.msg[data-role="user"]').first).to_contain_text("<script>window.__xss=2</script>")
    assert page.locator(".transcript style").count() == 0
    assert not [e for e in watch.errors if "Content Security Policy" not in e and "404" not in e], watch.errors


def test_session_lifecycle_rename_archive_reopen_export_delete_search(open_page: Any, fresh: ChatNexus) -> None:
    page, watch = open_page("/")
    wait_live(page)
    card = new_card(page, "Lifecycle")
    ask(card, "remember the word zanzibar")
    expect(last_reply(card)).to_contain_text("zanzibar")
    session_id = card.get_attribute("data-session")

    card.get_by_role("button", name="Session actions").click()
    card.get_by_role("button", name="Rename…").click()
    page.get_by_role("dialog").get_by_label("Title").fill("Renamed session")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(card.locator(".session-title")).to_have_text("Renamed session")
    assert fresh.runtime.chat.get(session_id)["title"] == "Renamed session"

    card.get_by_role("button", name="Session actions").click()
    with page.expect_download() as md:
        card.get_by_role("link", name="Export as Markdown").click()
    assert "zanzibar" in Path(md.value.path()).read_text()
    card.get_by_role("button", name="Session actions").click()
    with page.expect_download() as js:
        card.get_by_role("link", name="Export as JSON").click()
    exported = json.loads(Path(js.value.path()).read_text())
    assert exported["session"]["id"] == session_id and len(exported["messages"]) == 2

    # Search finds it.
    page.get_by_label("Search all transcripts").fill("zanzibar")
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.locator("#search-results")
    expect(results.get_by_role("link", name="Renamed session")).to_be_visible()
    expect(results.locator("mark").first).to_have_text(re.compile("zanzibar", re.I))

    # Archive, then reopen from the archived list.
    card.get_by_role("button", name="Session actions").click()
    card.get_by_role("button", name="Archive").click()
    expect(page.locator(".session.card")).to_have_count(0)
    expect(page.get_by_role("heading", name="No sessions yet — start one")).to_be_visible()
    page.locator("#archived summary").click()
    page.get_by_role("button", name="Reopen Renamed session").click()
    card = page.locator(".session.card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("zanzibar")

    # Resume: a follow-up in the reopened session.
    send(card, "and again")
    expect(last_reply(card)).to_contain_text("You said: and again", timeout=REPLY)
    idle(card)

    # Delete, undo, delete.
    card.get_by_role("button", name="Session actions").click()
    card.get_by_role("button", name="Delete…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".session.card")).to_have_count(0)
    page.locator(".toast", has_text="Deleted").get_by_role("button", name="Undo").click()
    expect(page.locator(".session.card")).to_have_count(1)
    assert not watch.errors, watch.errors


def test_eleventh_session_asks_to_archive_one(open_page: Any, fresh: ChatNexus) -> None:
    for i in range(10):
        fresh.runtime.chat.create(title=f"Open {i}")
    page, _ = open_page("/")
    wait_live(page)
    expect(page.locator(".session.card")).to_have_count(10)
    expect(page.locator(".session.card[data-loaded='1']")).to_have_count(10, timeout=10_000)
    page.get_by_role("button", name="New session").click()
    dialog = page.get_by_role("dialog", name="Ten sessions are open")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Archive Open 3").click()
    expect(page.locator("#new-dialog")).to_be_visible()
    expect(page.locator(".session.card")).to_have_count(9)
    page.locator("#new-dialog").get_by_label("Title").fill("Eleventh")
    page.locator("#new-dialog").get_by_role("button", name="Start").click()
    expect(page.locator(".session.card")).to_have_count(10)


def test_attachment_is_sent_as_a_file_part(open_page: Any, fresh: ChatNexus, tmp_path: Path) -> None:
    session = fresh.runtime.chat.create(title="Attachments")
    page, _ = open_page(f"/s/{session['id']}")
    wait_live(page)
    view = page.locator(".session.full")
    expect(view).to_have_attribute("data-loaded", "1")
    note = tmp_path / "notes.txt"
    note.write_text("attached content")
    view.locator("input[type=file]").set_input_files(str(note))
    expect(view.locator(".attachment")).to_contain_text("notes.txt")
    send(view, "see the file")
    expect(view.locator('.msg[data-role="user"] .file-chip')).to_contain_text("notes.txt", timeout=REPLY)
    idle(view)
    stored = fresh.runtime.chat.messages(session["id"])["messages"][0]
    assert any(p["kind"] == "file" and p.get("filename") == "notes.txt" for p in stored["parts"]), stored["parts"]


def test_long_session_shows_latest_messages_first(open_page: Any, fresh: ChatNexus) -> None:
    # How fast is measured by bench/long_session.py; this checks what makes it fast.
    session_id = seed_long_session(fresh.runtime, 2000)
    page, watch = open_page(f"/s/{session_id}")
    last = page.locator(f'.msg[data-id="msg_001999_{session_id[-6:]}"]')
    expect(last).to_be_visible(timeout=10_000)
    expect(last).to_be_in_viewport()
    # The server's first paint, then the view in its place (tests/browser/test_session_first_paint.py).
    expect(page.locator('.session.full[data-loaded="1"]')).to_be_visible()
    expect(last).to_be_in_viewport()
    # Only a window of the transcript is drawn; scrolling up draws more.
    drawn = page.locator(".msg").count()
    assert drawn <= 60, drawn
    page.locator(".transcript").evaluate("t => t.scrollTop = 0")
    expect(page.locator(".msg")).not_to_have_count(drawn, timeout=5_000)
    assert not watch.errors, watch.errors


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_main_page_and_full_view(open_page: Any, fresh: ChatNexus, scheme: str) -> None:
    chat = fresh.runtime.chat
    session = chat.create(title="Accessible session")
    page, _ = open_page("/", color_scheme=scheme)
    wait_live(page)
    card = page.locator(".session.card")
    ask(card, "Here is **markdown** with `code`\n\n```js\nconst x = 1;\n```")
    send(card, "TOOL:echo axe")
    expect(card.locator(".permission")).to_be_visible(timeout=REPLY)
    card.locator("details.tool").last.locator("summary").click()
    problems = axe_serious(page, f"main-{scheme}")
    shot(page, f"cards-desktop-{scheme}")
    card.locator(".permission").get_by_role("button", name="Allow once").click()
    idle(card)
    assert not problems, problems

    full, _ = open_page(f"/s/{session['id']}", color_scheme=scheme)
    wait_live(full)
    view = full.locator(".session.full")
    expect(view).to_have_attribute("data-loaded", "1")
    ask(view, "THINK")
    view.locator("details.tool").last.locator("summary").click()
    problems = axe_serious(full, f"full-{scheme}")
    shot(full, f"full-desktop-{scheme}")
    assert not problems, problems


def test_provider_failure_shows_retry_countdown_and_stop_ends_it(open_page: Any, fresh: ChatNexus) -> None:
    page, _ = open_page("/")
    wait_live(page)
    card = new_card(page, "Flaky provider")
    send(card, "FAIL")
    # OpenCode retries a failing provider forever with growing waits; the card says so,
    # counts down to the next attempt, and offers Stop.
    expect(card).to_have_attribute("data-status", "retry", timeout=REPLY)
    line = card.locator(".status-line")
    expect(line).to_contain_text("Retrying", timeout=REPLY)
    expect(line).to_contain_text("(attempt ")
    expect(line).to_contain_text("fake failure")
    expect(line).to_contain_text(re.compile(r"in \d+ s|now"))
    card.get_by_role("button", name="Stop").click()
    idle(card)
    expect(line).not_to_contain_text("Retrying")


def test_always_allow_is_not_asked_again_for_the_same_kind_of_command(open_page: Any, fresh: ChatNexus) -> None:
    page, _ = open_page("/")
    wait_live(page)
    card = new_card(page, "Trusted commands")
    send(card, "TOOL:echo first-time")
    prompt = card.locator(".permission")
    expect(prompt).to_be_visible(timeout=REPLY)
    prompt.get_by_role("button", name="Always allow").click()
    expect(card.locator("details.tool").last).to_have_attribute("data-status", "completed", timeout=REPLY)
    idle(card)
    # `echo *` is now allowed for this session: the next echo runs without a prompt.
    send(card, "TOOL:echo second-time")
    expect(card.locator("details.tool")).to_have_count(2, timeout=REPLY)
    expect(card.locator("details.tool").last).to_have_attribute("data-status", "completed", timeout=REPLY)
    expect(card.locator(".permission")).to_be_hidden()
    idle(card)


# ----- keyboard shortcuts (nexus/ui/static/js/shortcuts.js) -------------------------------------

@pytest.mark.parametrize("keys", [["Escape", "Escape"], ["Control+Period"]], ids=["esc-twice", "ctrl-period"])
def test_stop_shortcut_stops_the_running_reply(open_page: Any, keys: list[str]) -> None:
    page, watch = open_page("/")
    card = new_card(page, f"Stop with {'+'.join(keys)}")
    page.locator("body").press("/")  # the focus-input shortcut
    expect(card.get_by_label("Message", exact=True)).to_be_focused()
    send(card, "SLOW")
    expect(last_reply(card)).to_contain_text("word3", timeout=REPLY)
    for key in keys:
        page.keyboard.press(key)  # still in the message box: these shortcuts are meant for typing too
    expect(last_reply(card).locator(".msg-stopped")).to_have_text("Stopped.", timeout=REPLY)
    idle(card)
    assert not watch.errors, watch.errors
