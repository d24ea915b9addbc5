"""Every page on a phone (375 px, light and dark) and on a desktop (1440 px): axe-core finds
no serious violation, nothing scrolls sideways, and on the phone no input is under 16 px (iOS
zooms on smaller) and no tap target is under 44 px. Screenshots of each go to
test-results/screenshots/fit-<page>-<view>.png."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.analytics_data import insert_known_usage
from tests.browser.auth_helpers import serious_violations
from tests.browser.conftest import SCREENSHOTS, LiveNexus
from tests.browser.viewports import VIEWS

PAGES = ["/", "/s/s1", "/sessions", "/analytics", "/settings", "/dashboard", "/logs", "/agents", "/security"]

# Interactive things, what they measure as a target, and their font size. Links inside running
# text are exempt from the target size (WCAG 2.5.8: inline targets).
MEASURE = """() => {
  const out = { small: [], tiny_inputs: [] };
  const visible = (el) => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && !el.closest('[hidden], [inert]'); };
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=tab], [tabindex="0"]';
  for (const el of document.querySelectorAll(sel)) {
    if (!visible(el) || el.closest('.xterm, .transcript .md, .help, .visually-hidden')) continue;
    if (el.matches('.visually-hidden, [role=log], [role=separator], .transcript, .skip-link')) continue;
    if (el.tagName === 'A' && el.closest('p, li:not(.nav-item), dd, td, .muted') && !el.matches('.btn')) continue;
    let r = el.getBoundingClientRect();
    if (el.matches('input[type=checkbox], input[type=radio]')) {
      const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
      const row = el.closest('.check, .choice, label') || label;
      if (row) r = row.getBoundingClientRect();
    }
    const name = (el.getAttribute('aria-label') || el.textContent || el.id || el.className || el.tagName).trim().slice(0, 40);
    if (r.height < 43.5 || r.width < 43.5) out.small.push(`${el.tagName.toLowerCase()} "${name}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    if (el.matches('input:not([type=checkbox], [type=radio]), select, textarea') && parseFloat(getComputedStyle(el).fontSize) < 16)
      out.tiny_inputs.push(`${el.tagName.toLowerCase()}#${el.id} ${getComputedStyle(el).fontSize}`);
  }
  return out;
}"""


@pytest.fixture
def seeded(live_nexus: LiveNexus) -> LiveNexus:
    insert_known_usage(live_nexus.runtime.chat.repo)
    return live_nexus


def _h1s(page: Any) -> int:
    """h1 elements that are rendered (visually hidden ones count: screen readers get them)."""
    return page.evaluate("[...document.querySelectorAll('h1')].filter((h) => h.getClientRects().length).length")


def _fits(page: Any) -> None:
    dims = page.evaluate("({doc: document.documentElement.scrollWidth, inner: innerWidth})")
    assert dims["doc"] <= dims["inner"], f"sideways scroll: {dims}"


@pytest.mark.parametrize("path", PAGES)
def test_page_fits_phones_and_desktops(browser: Browser, seeded: LiveNexus, path: str) -> None:
    name = path.strip("/").replace("/", "-") or "home"
    problems: list[str] = []
    for view in VIEWS:
        context = browser.new_context(base_url=seeded.url, **VIEWS[view])
        try:
            page = context.new_page()
            page.goto(path)
            expect(page.locator("h1").first).to_be_visible()
            page.wait_for_load_state("networkidle")
            assert _h1s(page) == 1, "one h1 per page"
            _fits(page)
            violations = serious_violations(page)
            assert not violations, [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
            if view.startswith("phone"):
                measured = page.evaluate(MEASURE)
                problems += [f"{view}: {p}" for p in measured["small"] + measured["tiny_inputs"]]
            page.screenshot(path=str(SCREENSHOTS / f"fit-{name}-{view}.png"), full_page=True)
        finally:
            context.close()
    assert not problems, "\n".join(sorted(set(problems)))
