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
