"""A person who uses only the keyboard, in a real Chromium against a real Nexus, the real OpenCode
and the fake model provider: from the main page they reach "New session" with Tab, open the
dialog, accept its defaults, start the session, type a message and send it with Enter (as the
composer's hint says), see a focus ring at every step, and close every dialog with Escape,
focus going back to what opened it. No mouse event is used.

Screenshots of the steps (desktop, light and dark) go to test-results/screenshots/keyboard-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .chat_fixtures import ChatNexus, module_chat_nexus
from .viewports import VIEWS

pytestmark = [pytest.mark.opencode, pytest.mark.slow]

REPLY = 20_000  # ms: bound on one reply from OpenCode + the fake provider on a busy machine
MAX_TABS = 40  # a page whose primary action needs more Tab presses than this fails

# What the focused element shows: an outline of at least 2 px in the focus colour on the element
# or on its ::after (a phone card's title link rings the whole row), or the composer's ring when
# its text box has the focus. Returns a description, or null when nothing shows.
FOCUS_RING_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const probe = document.createElement('span');
  probe.style.color = getComputedStyle(document.documentElement).getPropertyValue('--focus').trim();
  document.body.append(probe);
  const focus = getComputedStyle(probe).color;
  probe.remove();
  const ring = (node, pseudo) => {
    const s = getComputedStyle(node, pseudo);
    if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && s.outlineColor === focus)
      return `${node.tagName.toLowerCase()}${pseudo || ''} outline ${s.outlineWidth} ${s.outlineColor}`;
    if (s.boxShadow !== 'none' && s.boxShadow.includes(focus))
      return `${node.tagName.toLowerCase()}${pseudo || ''} box-shadow ${s.boxShadow}`;
    return null;
  };
  return ring(el) || ring(el, '::after') || (el.closest('.composer') && ring(el.closest('.composer'))) || null;
}"""

DESCRIBE_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'body';
  const name = el.getAttribute('aria-label') || el.labels?.[0]?.textContent || el.textContent || '';
  return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${name.trim().slice(0, 40)}"`;
}"""


@pytest.fixture(scope="module")
def nexus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatNexus]:
    with module_chat_nexus(tmp_path_factory.mktemp("keyboard")) as nx:
        yield nx


def focused(page: Page) -> str:
    return page.evaluate(DESCRIBE_JS)


def assert_focus_ring(page: Page, step: str) -> None:
    ring = page.evaluate(FOCUS_RING_JS)
    assert ring, f"{step}: no visible focus ring on {focused(page)}"


def tab_to(page: Page, target: Any, step: str, key: str = "Tab") -> list[str]:
    """Press Tab until `target` has the focus, checking the focus ring at every stop; returns
    the stops. Fails after MAX_TABS presses or if the focus falls back to <body>."""
    stops = []
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        stops.append(focused(page))
        assert stops[-1] != "body", f"{step}: focus fell to <body> after {stops}"
        assert_focus_ring(page, f"{step} (stop {len(stops)})")
        if target.evaluate("el => el === document.activeElement"):
            return stops
    raise AssertionError(f"{step}: not reached with {MAX_TABS} x {key}: {stops}")


@pytest.mark.parametrize("view", ["desktop-light", "desktop-dark"])
def test_keyboard_only_create_send_and_dialogs(new_page: Any, fresh: ChatNexus, view: str, screenshot_dir) -> None:
    page = new_page(fresh.url, **VIEWS[view])
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(page.get_by_role("heading", name="No sessions yet — start one")).to_be_visible()

    # The first Tab offers the skip link; Tab goes on to the page's primary action.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    assert_focus_ring(page, "skip link")
    new_session = page.locator(".home-head").get_by_role("button", name="New session")
    stops = tab_to(page, new_session, "reach New session")
    page.screenshot(path=screenshot_dir / f"keyboard-{view}-1-new-session-focused.png")

    # Enter opens the dialog, focus in its first field; Escape closes it and focus goes back.
    page.keyboard.press("Enter")
    dialog = page.locator("#new-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Title")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(new_session).to_be_focused()
    assert_focus_ring(page, "New session after Escape")

    # Again, and this time: a title, the defaults for everything else, Tab to Start, Enter.
    page.keyboard.press("Enter")
    expect(dialog.get_by_label("Title")).to_be_focused()
    assert_focus_ring(page, "title field")
    page.keyboard.type("Keyboard card")
    expect(dialog.get_by_label("Agent", exact=True)).to_contain_text("build", timeout=REPLY)  # choices loaded
    start = dialog.get_by_role("button", name="Start")
    dialog_stops = tab_to(page, start, "reach Start")
    assert all("#new-" in s or "Start" in s or "Cancel" in s or "Browse" in s or "Define agents" in s
               for s in dialog_stops), f"focus left the dialog: {dialog_stops}"
    page.screenshot(path=screenshot_dir / f"keyboard-{view}-2-dialog-start-focused.png")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden(timeout=REPLY)

    # The new card's message box has the focus; its hint says how to send; Enter sends.
    card = page.locator(".session.card", has=page.get_by_role("link", name="Keyboard card", exact=True))
    expect(card).to_have_attribute("data-loaded", "1", timeout=10_000)
    box = card.get_by_label("Message", exact=True)
    expect(box).to_be_focused()
    assert_focus_ring(page, "message box")
    expect(card.locator(".composer-hint")).to_have_text("Enter sends · Shift+Enter for a new line")
    page.keyboard.type("hello from the keyboard")
    page.screenshot(path=screenshot_dir / f"keyboard-{view}-3-message-typed.png")
    page.keyboard.press("Enter")
    expect(box).to_have_value("", timeout=5_000)
    reply = card.locator('.msg[data-role="assistant"]').last
    expect(reply).to_contain_text("Hello from fake LLM. You said: hello from the keyboard", timeout=REPLY)
    expect(reply).to_have_attribute("data-done", "1", timeout=REPLY)
    expect(box).to_be_focused()  # still there for the next message

    # The card's menu: Shift+Tab back from the message box reaches it; Escape closes it onto its button.
    menu_button = card.get_by_role("button", name="Session actions")
    tab_to(page, menu_button, "reach the card's menu", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(card.locator(".menu-list")).to_be_visible()
    assert_focus_ring(page, "first menu item")
    page.keyboard.press("Escape")
    expect(card.locator(".menu-list")).to_be_hidden()
    expect(menu_button).to_be_focused()

    # A confirmation dialog opened from the menu (Delete…): Escape cancels it, focus goes back to
    # the menu's button (the menu item that opened it has gone with the menu).
    page.keyboard.press("Enter")
    for _ in range(10):
        if "Delete" in focused(page):
            break
        page.keyboard.press("ArrowDown")
    assert "Delete" in focused(page), focused(page)
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name="Delete this session?")
    expect(confirm).to_be_visible()
    assert_focus_ring(page, "confirmation dialog")
    page.screenshot(path=screenshot_dir / f"keyboard-{view}-4-confirm-dialog.png")
    page.keyboard.press("Escape")
    expect(confirm).to_have_count(0)
    expect(menu_button).to_be_focused()
    assert_focus_ring(page, "menu button after the confirmation")
    expect(card).to_be_visible()  # cancelled: nothing deleted
    assert not errors, errors
    assert len(stops) < MAX_TABS
