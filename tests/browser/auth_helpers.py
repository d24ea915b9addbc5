"""Browser fixtures for the sign-in and setup tests: a real Nexus on a free loopback port."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import LiveNexus

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


# A live Nexus (setup done, no owner yet) with its web server: the shared fixture.
Served = LiveNexus


@pytest.fixture
def served(live_nexus: LiveNexus) -> LiveNexus:
    return live_nexus


def serious_violations(page: Any) -> list[dict]:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]


def no_horizontal_scroll(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def signed_in_page(browser: Any, served: LiveNexus, view: str, start: str = "/") -> tuple[Any, Any]:
    """(context, page): the owner (created here) signed in through the real sign-in page in
    the given view, landed on `start`."""
    from playwright.sync_api import expect

    from tests.auth_helpers import OWNER, PASSWORD, make_owner
    from tests.browser.viewports import VIEWS

    make_owner(served.runtime)
    context = browser.new_context(base_url=served.url, **VIEWS[view])
    page = context.new_page()
    page.goto(f"/login?next={start}")
    page.get_by_label("User name").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{served.url}{start}")
    return context, page
