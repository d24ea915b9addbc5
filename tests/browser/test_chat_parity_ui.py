"""The chat's agent controls in a real Chromium, against a real Nexus, the real OpenCode and
the fake model provider: questions the agent asks (QUESTION: prompts), answered by a person.
Screenshots go to test-results/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .test_chat_ui import (  # noqa: F401 - fixtures used by name
    DESKTOP,
    PHONE,
    ChatNexus,
    idle,
    last_reply,
    nexus,
    no_horizontal_scroll,
    open_page,
    shot,
    wait_live,
)

pytestmark = [pytest.mark.opencode, pytest.mark.slow]
FIRST = 120_000  # ms: a generous bound on one reply: the machine is shared and OpenCode warms up

def failures(page: Any) -> list[str]:
    """Failed requests of the page, but the workspace pane's terminal, whose shell may not start
    in time on a loaded machine (it is not what these tests are about)."""
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}")
            if r.status >= 400 and "/terminals" not in r.url else None)
    return failed


def open_session(open_page: Any, session_id: str, **context: Any) -> tuple[Any, Any, list[str], Any]:
    """The session's page, live and drawn: (page, its watch, its failed requests, the session view)."""
    page, watch = open_page(f"/s/{session_id}", **context)
    failed = failures(page)
    wait_live(page)
    view = page.locator(".session.full")
    expect(view).to_have_attribute("data-loaded", "1")
    return page, watch, failed, view


def problems(watch: Any, failed: list[str]) -> list[str]:
    return [e for e in watch.errors if not e.startswith("console: Failed to load resource")] + failed


def send(scope: Any, text: str) -> None:
    """Send with Enter; the box empties once Nexus accepted it (slowly on a busy machine)."""
    box = scope.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("", timeout=FIRST)


COLORS = ('QUESTION:[{"header": "Colors", "question": "Which colors should the button use?", "multiple": true, '
          '"options": [{"label": "Red", "description": "Warm and loud"}, '
          '{"label": "Blue", "description": "Calm and cool"}, {"label": "Green", "description": "Fresh"}]}]')


def test_answer_a_question_on_a_phone_after_a_reload(open_page: Any, fresh: ChatNexus) -> None:
    session = fresh.runtime.chat.create(title="Question on a phone")
    page, watch = open_page(f"/s/{session['id']}", color_scheme="light", **PHONE)
    failed = failures(page)
    wait_live(page)
    view = page.locator(".session.full")
    expect(view).to_have_attribute("data-loaded", "1")
    box = view.get_by_label("Message", exact=True)
    box.fill(COLORS)
    view.get_by_role("button", name="Send").click()
    form = view.locator("form.question")
    expect(form).to_be_visible(timeout=FIRST)
    expect(view).to_have_attribute("data-status", "waiting")
    expect(page).to_have_title("Needs you · Question on a phone · Nexus")
    expect(form.get_by_role("group", name="Colors")).to_contain_text("Which colors should the button use?")
    expect(form).to_contain_text("Calm and cool")

    # A reload keeps it: the page's snapshot carries the question.
    page.reload()
    wait_live(page)
    form = view.locator("form.question")
    expect(form).to_be_visible(timeout=10_000)
    no_horizontal_scroll(page)
    shot(page, "question-phone-light")
    form.get_by_label("Red").check()
    form.get_by_label("Green").check()
    form.get_by_role("button", name="Send answer").click()
    expect(form).to_have_count(0, timeout=FIRST)
    expect(last_reply(view)).to_contain_text('"Which colors should the button use?"="Red, Green"', timeout=FIRST)
    idle(view)
    assert not problems(watch, failed), problems(watch, failed)


def test_a_waiting_question_shows_on_the_card_and_can_be_dismissed(open_page: Any, fresh: ChatNexus) -> None:
    session = fresh.runtime.chat.create(title="Question on a card")
    for scheme in ("light", "dark"):
        page, watch = open_page("/", color_scheme=scheme, viewport=DESKTOP)
        failed = failures(page)
        wait_live(page)
        card = page.locator(f'.session.card[data-session="{session["id"]}"]')
        expect(card).to_have_attribute("data-loaded", "1", timeout=10_000)
        if scheme == "light":
            send(card, "QUESTION:Ship it today?")
        form = card.locator("form.question")
        expect(form).to_be_visible(timeout=FIRST)
        expect(card).to_have_attribute("data-status", "waiting")
        expect(form.locator(".question-description")).to_have_text(["Go ahead", "Stop here"])
        shot(page, f"question-card-desktop-{scheme}")
        if scheme == "dark":
            form.get_by_role("button", name="Dismiss").click()
            expect(form).to_have_count(0, timeout=FIRST)
            idle(card)
        assert not problems(watch, failed), problems(watch, failed)
    assert fresh.runtime.chat.get(session["id"])["pending_questions"] == 0


def test_queue_a_message_while_a_reply_streams(open_page: Any, fresh: ChatNexus) -> None:
    session = fresh.runtime.chat.create(title="Queue while busy")
    page, watch, failed, view = open_session(open_page, session["id"], color_scheme="light", viewport=DESKTOP)
    send(view, "BURST:80:100")
    expect(view).to_have_attribute("data-status", "busy", timeout=FIRST)
    expect(view.get_by_role("button", name="Queue")).to_be_visible()
    send(view, "queued while busy")
    send(view, "cancel me")
    queued = view.locator(".queued-item")
    expect(queued).to_have_count(2)
    expect(queued.first).to_contain_text("queued while busy")
    shot(page, "queue-desktop-light")
    view.get_by_role("button", name="Cancel queued message: cancel me").click()
    expect(queued).to_have_count(1)
    # The reply was still streaming all along; then the queued message goes by itself.
    expect(view.locator('.msg[data-role="assistant"]').first).to_contain_text("tok79", timeout=FIRST)
    expect(queued).to_have_count(0, timeout=FIRST)
    expect(last_reply(view)).to_contain_text("You said: queued while busy", timeout=FIRST)
    idle(view)
    users = view.locator('.msg[data-role="user"]')
    expect(users).to_have_count(2)
    assert "cancel me" not in view.locator(".messages").inner_text()
    assert not problems(watch, failed), problems(watch, failed)


def test_run_a_slash_command_from_the_palette_and_see_the_model_and_context(open_page: Any, fresh: ChatNexus) -> None:
    session = fresh.runtime.chat.create(title="Slash command")
    for scheme in ("light", "dark"):
        page, watch = open_page(f"/s/{session['id']}", color_scheme=scheme, viewport=DESKTOP)
        failed = failures(page)
        wait_live(page)
        view = page.locator(".session.full")
        expect(view).to_have_attribute("data-loaded", "1")
        expect(view.get_by_label("Model", exact=True)).to_have_value("fake/fake-model", timeout=FIRST)
        expect(view.get_by_label("Model", exact=True).locator("optgroup")).to_have_attribute("label", "Fake LLM")
        expect(view.get_by_label("Agent", exact=True)).to_have_value("build", timeout=FIRST)
        if scheme == "light":
            box = view.get_by_label("Message", exact=True)
            box.fill("/")
            box.press("End")
            box.type("ini")
            option = view.get_by_role("option", name="/init")
            expect(option).to_be_visible(timeout=FIRST)
            expect(option).to_contain_text("AGENTS.md")
            box.press("Enter")
            expect(box).to_have_value("/init ")
            box.type("keep it short")
            box.press("Enter")
            expect(box).to_have_value("", timeout=FIRST)
            # OpenCode expands the command's template; the fake model echoes the start of it.
            expect(view.locator('.msg[data-role="user"]').first).to_contain_text("AGENTS.md", timeout=FIRST)
            expect(last_reply(view)).to_contain_text("You said:", timeout=FIRST)
            idle(view)
        meter = view.locator(".context")
        expect(meter).to_be_visible(timeout=FIRST)
        expect(meter).to_contain_text("/ 100k context", timeout=FIRST)
        shot(page, f"composer-desktop-{scheme}")
        phone, _ = open_page(f"/s/{session['id']}", color_scheme=scheme, **PHONE)
        wait_live(phone)
        expect(phone.locator(".session.full .context")).to_contain_text("/ 100k context", timeout=FIRST)
        no_horizontal_scroll(phone)
        shot(phone, f"composer-phone-{scheme}")
        assert not problems(watch, failed), problems(watch, failed)


def test_mention_a_project_file_with_at_and_send_it(open_page: Any, fresh: ChatNexus) -> None:
    """Type "@", pick a file of the session's project from the palette with the keyboard, send:
    the message carries the file (OpenCode read it), shown as a chip on the user's message."""
    workspace = fresh.runtime.settings["server.workspace"]
    (Path(workspace) / "launch-notes.txt").write_text("the launch code is 4242\n")
    session = fresh.runtime.chat.create(title="Mention a file")
    page, watch, failed, view = open_session(open_page, session["id"], color_scheme="light", viewport=DESKTOP)
    box = view.get_by_label("Message", exact=True)
    box.fill("what does ")
    box.press("End")
    box.type("@launch")
    option = view.get_by_role("option", name="launch-notes.txt")
    expect(option).to_be_visible(timeout=FIRST)
    box.press("Enter")
    expect(box).to_have_value("what does @launch-notes.txt ")
    box.type("say?")
    box.press("Enter")
    expect(box).to_have_value("", timeout=FIRST)
    user = view.locator('.msg[data-role="user"]').first
    expect(user.locator(".file-chip")).to_contain_text("launch-notes.txt", timeout=FIRST)
    expect(last_reply(view)).to_contain_text("You said:", timeout=FIRST)
    idle(view)
    shot(page, "mention-desktop-light")
    assert not problems(watch, failed), problems(watch, failed)
