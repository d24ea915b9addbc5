"""The top bar of every page when signed in: the navigation, the connection state, the bell
and the account links fit a 1440 px desktop in one row, and a 375 px phone with the
navigation and account links in the menu, without sideways scroll."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.viewports import VIEWS

from .auth_helpers import Served, no_horizontal_scroll, served, signed_in_page  # noqa: F401

PAGES = ["/", "/sessions", "/agents", "/dashboard", "/logs", "/analytics", "/settings", "/security"]


@pytest.mark.parametrize("view", ["phone-light", "desktop-dark"])
def test_signed_in_top_bar_fits(browser: Browser, served: Served, screenshot_dir, view: str) -> None:
    context, page = signed_in_page(browser, served, view)
    width = VIEWS[view]["viewport"]["width"]
    for path in PAGES:
        page.goto(path)
        header = page.locator("header.topbar").bounding_box()
        assert header is not None and header["height"] < 80, f"the top bar wraps into a second row on {path}"
        assert no_horizontal_scroll(page), f"{path} scrolls sideways at {width} px"
        sign_out = page.locator("#sign-out")
        if width < 760:  # on a phone the account links are at the foot of the menu
            expect(sign_out).to_be_hidden()
            page.get_by_role("button", name="Menu").click()
        expect(sign_out).to_be_visible()
        box = sign_out.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, f"Sign out cut off on {path}"
    page.goto("/dashboard")
    page.screenshot(path=screenshot_dir / f"topbar-signed-in-{view}.png")
    if width < 760:
        page.get_by_role("button", name="Menu").click()
        page.screenshot(path=screenshot_dir / f"topbar-signed-in-{view}-menu.png")
    context.close()
