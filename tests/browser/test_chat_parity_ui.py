"""The chat's agent controls in a real Chromium, against a real Nexus, the real OpenCode and
the fake model provider: questions the agent asks (QUESTION: prompts), answered by a person.
Screenshots go to test-results/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .test_chat_ui import (  # noqa: F401 - fixtures used by name
    DESKTOP,
    PHONE,
    REPLY,
    ChatNexus,
    fresh,
    idle,
    last_reply,
    nexus,
    no_horizontal_scroll,
    open_page,
    send,
    shot,
    wait_live,
)

pytestmark = [pytest.mark.opencode, pytest.mark.slow]

COLORS = ('QUESTION:[{"header": "Colors", "question": "Which colors should the button use?", "multiple": true, '
          '"options": [{"label": "Red", "description": "Warm and loud"}, '
          '{"label": "Blue", "description": "Calm and cool"}, {"label": "Green", "description": "Fresh"}]}]')


def test_answer_a_question_on_a_phone_after_a_reload(open_page: Any, fresh: ChatNexus) -> None:  # noqa: F811 - pytest fixtures
    session = fresh.runtime.chat.create(title="Question on a phone")
    page, watch = open_page(f"/s/{session['id']}", color_scheme="light", **PHONE)
    wait_live(page)
    view = page.locator(".session.full")
    expect(view).to_have_attribute("data-loaded", "1")
    box = view.get_by_label("Message", exact=True)
    box.fill(COLORS)
    view.get_by_role("button", name="Send").click()
    form = view.locator("form.question")
    expect(form).to_be_visible(timeout=REPLY)
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
    expect(form).to_have_count(0, timeout=REPLY)
    expect(last_reply(view)).to_contain_text('"Which colors should the button use?"="Red, Green"', timeout=REPLY)
    idle(view)
    assert not watch.errors, watch.errors


def test_a_waiting_question_shows_on_the_card_and_can_be_dismissed(open_page: Any, fresh: ChatNexus) -> None:  # noqa: F811 - pytest fixtures
    session = fresh.runtime.chat.create(title="Question on a card")
    for scheme in ("light", "dark"):
        page, watch = open_page("/", color_scheme=scheme, viewport=DESKTOP)
        wait_live(page)
        card = page.locator(f'.session.card[data-session="{session["id"]}"]')
        expect(card).to_have_attribute("data-loaded", "1", timeout=10_000)
        if scheme == "light":
            send(card, "QUESTION:Ship it today?")
        form = card.locator("form.question")
        expect(form).to_be_visible(timeout=REPLY)
        expect(card).to_have_attribute("data-status", "waiting")
        expect(form.locator(".question-description")).to_have_text(["Go ahead", "Stop here"])
        shot(page, f"question-card-desktop-{scheme}")
        if scheme == "dark":
            form.get_by_role("button", name="Dismiss").click()
            expect(form).to_have_count(0, timeout=REPLY)
            idle(card)
        assert not watch.errors, watch.errors
    assert fresh.runtime.chat.get(session["id"])["pending_questions"] == 0


def test_queue_a_message_while_a_reply_streams(open_page: Any, fresh: ChatNexus) -> None:  # noqa: F811 - pytest fixtures
    session = fresh.runtime.chat.create(title="Queue while busy")
    page, watch = open_page(f"/s/{session['id']}", color_scheme="light", viewport=DESKTOP)
    wait_live(page)
    view = page.locator(".session.full")
    expect(view).to_have_attribute("data-loaded", "1")
    send(view, "BURST:80:100")
    expect(view).to_have_attribute("data-status", "busy", timeout=REPLY)
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
    expect(last_reply(view)).to_contain_text("tok79", timeout=REPLY)
    expect(queued).to_have_count(0, timeout=REPLY)
    expect(last_reply(view)).to_contain_text("You said: queued while busy", timeout=REPLY)
    idle(view)
    users = view.locator('.msg[data-role="user"]')
    expect(users).to_have_count(2)
    assert "cancel me" not in view.locator(".messages").inner_text()
    assert not watch.errors, watch.errors
