"""The sign-in page in Chromium: phone-sized, wrong password, lockout countdown, success,
sign-out; and the security page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.auth_helpers import OWNER, PASSWORD, make_owner
from tests.browser.viewports import VIEWS

from .auth_helpers import Served, no_horizontal_scroll, serious_violations, served, signed_in_page  # noqa: F401


@pytest.mark.parametrize("view", ["phone-light", "phone-dark"])
def test_phone_sign_in(browser: Browser, served: Served, screenshot_dir, view: str) -> None:
    make_owner(served.runtime)
    context = browser.new_context(base_url=served.url, **VIEWS[view])
    page = context.new_page()
    page.goto("/security")
    expect(page).to_have_url(f"{served.url}/login?next=/security")
    assert page.evaluate("window.innerWidth") == 375 and no_horizontal_scroll(page)
    assert not serious_violations(page)
    page.screenshot(path=screenshot_dir / f"login-{view}.png", full_page=True)
    page.get_by_label("User name").fill(OWNER)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text("not correct")
    page.screenshot(path=screenshot_dir / f"login-{view}-error.png", full_page=True)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{served.url}/security")
    expect(page.get_by_role("heading", name="Security and remote access")).to_be_visible()
    assert no_horizontal_scroll(page)
    page.screenshot(path=screenshot_dir / f"security-{view}.png", full_page=True)
    page.get_by_role("button", name="Menu").click()  # on a phone the account links are in the menu
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page).to_have_url(f"{served.url}/login")
    context.close()


def test_lockout_shows_the_remaining_time(browser: Browser, served: Served, screenshot_dir) -> None:
    make_owner(served.runtime)
    served.runtime.settings.update({"security.lockout_failures": 2, "security.lockout_minutes": 5})
    context = browser.new_context(base_url=served.url, **VIEWS["desktop-light"])
    page = context.new_page()
    page.goto("/login")
    for _ in range(2):
        page.get_by_label("Password").fill("wrong-wrong-wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#login-error")).not_to_be_empty()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_contain_text("Try again in 5 minutes")
    expect(page.get_by_role("button", name="Sign in")).to_be_disabled()
    page.reload()
    expect(page.locator("#login-error")).to_contain_text("locked")
    page.screenshot(path=screenshot_dir / "login-desktop-light-locked.png", full_page=True)
    context.close()


@pytest.mark.parametrize("view", ["desktop-light", "desktop-dark"])
def test_security_page_keys_and_audit(browser: Browser, served: Served, screenshot_dir, view: str) -> None:
    context, page = signed_in_page(browser, served, view, "/security")
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    page.get_by_label("Name").fill("backup script")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key-value")).to_contain_text("nxk_")
    from tests.auth_helpers import remember

    remember(page.locator("#new-key-value").inner_text())
    expect(page.locator("#keys")).to_contain_text("backup script")
    expect(page.locator("#audit")).to_contain_text("key-created")
    assert not serious_violations(page)
    page.screenshot(path=screenshot_dir / f"security-{view}.png", full_page=True)
    context.close()
