"""The main page does not move as its cards fill in (issue 16: layout shift <= 0.02), at 1440 and
375 px, light and dark: the server draws each open session's card (its newest messages, in the
card's size) and carries the sessions' snapshots; the cards' views take their places in one go,
scrolled to their newest message. Measured with the browser's own Layout Instability API."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.chat_fixtures import seed_long_session
from tests.browser.conftest import LiveNexus
from tests.browser.viewports import VIEWS

MAX_SHIFT = 0.02

RECORD_SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (!e.hadRecentInput) window.__shifts.push({ value: e.value,
      sources: e.sources.map((s) => s.node ? `${s.node.nodeName}.${s.node.className}` : '?') });
  }
}).observe({ type: 'layout-shift', buffered: true });
"""


@pytest.fixture
def two_sessions(live_nexus: LiveNexus) -> tuple[LiveNexus, list[str]]:
    ids = []
    for i in range(2):
        sid = seed_long_session(live_nexus.runtime, 40, title=f"Steady card {i + 1}")
        live_nexus.runtime.chat.repo.update_session(sid, state="active")
        ids.append(sid)
    return live_nexus, ids


def test_home_page_carries_drawn_cards_and_snapshots(two_sessions: tuple[LiveNexus, list[str]],
                                                      browser: Browser) -> None:
    nexus, ids = two_sessions
    context = browser.new_context(base_url=nexus.url)
    try:
        html = context.request.get("/").text()
    finally:
        context.close()
    assert html.count('<article class="session card preview card-placeholder"') == 2
    assert 'id="initial-sessions"' in html
    assert all(sid in html for sid in ids)
    assert "Answer **39**" in html  # the newest message is in the page, not fetched afterwards
    assert html.count("Answer <strong>39</strong>") == 2  # ...and drawn in each card


@pytest.mark.parametrize("view", list(VIEWS))
def test_cards_fill_in_without_moving_the_page(two_sessions: tuple[LiveNexus, list[str]], browser: Browser,
                                               view: str, screenshot_dir) -> None:
    nexus, _ = two_sessions
    context = browser.new_context(base_url=nexus.url, **VIEWS[view])
    try:
        context.add_init_script(RECORD_SHIFTS)
        page = context.new_page()
        page.goto("/")
        expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
        cards = page.locator("article.session.card")
        expect(cards).to_have_count(2)
        for i in range(2):
            expect(cards.nth(i)).to_have_attribute("data-loaded", "1", timeout=15_000)
        expect(page.locator(".card-placeholder")).to_have_count(0)
        page.wait_for_load_state("networkidle")
        # The live stream is up and the models were asked for: whatever fills in has filled in.
        expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15_000)
        shifts: list[dict[str, Any]] = page.evaluate("window.__shifts")
        total = sum(s["value"] for s in shifts)
        assert total <= MAX_SHIFT, f"layout shift {total:.4f} > {MAX_SHIFT}: {shifts}"
        if view.startswith("desktop"):
            # Each card opens at its newest message (drawn before it was in the document).
            at_end = page.evaluate("""[...document.querySelectorAll('article.session.card .transcript')].map(
              (t) => Math.abs(t.scrollHeight - t.clientHeight - t.scrollTop) < 4)""")
            assert at_end == [True, True], at_end
        expect(cards.first).to_contain_text("That was message 39.")
        page.screenshot(path=str(screenshot_dir / f"steady-home-{view}.png"))
    finally:
        context.close()
