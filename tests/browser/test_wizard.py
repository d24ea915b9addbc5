"""The setup wizard in Chromium, from a fresh data dir to Nexus's main page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.auth_helpers import PASSWORD
from tests.browser.viewports import VIEWS

from .auth_helpers import Served, no_horizontal_scroll, serious_violations, served  # noqa: F401

pytestmark = pytest.mark.fresh_install


def test_wizard_from_a_fresh_data_dir_to_the_main_page(browser: Browser, served: Served, screenshot_dir,
                                                       tmp_path) -> None:
    context = browser.new_context(base_url=served.url, **VIEWS["desktop-light"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    refused: list[str] = []  # which addresses were refused, for the message if an error is left over
    page.on("response", lambda r: refused.append(f"{r.status} {r.url}") if r.status in (401, 403) else None)
    page.goto("/")  # without the token `nexus serve` printed, nothing but a pointer to it
    expect(page.get_by_role("heading", name="Open the setup link")).to_be_visible()
    page.wait_for_load_state("networkidle")  # everything that page asks for, answered (or refused)
    errors.clear()  # that refusal was the point (the browser reports any 401 as an error)
    page.goto(f"/?token={served.runtime.auth.setup_token()}")
    expect(page).to_have_url(f"{served.url}/setup")
    expect(page.get_by_role("heading", name="Welcome to Nexus")).to_be_visible()
    page.screenshot(path=screenshot_dir / "wizard-desktop-light-welcome.png", full_page=True)
    page.get_by_role("button", name="Start").click()

    expect(page.get_by_role("heading", name="System check")).to_be_visible()
    expect(page.locator("#checks li")).not_to_have_count(0)
    expect(page.locator("#checks")).to_contain_text("Secret store")
    page.screenshot(path=screenshot_dir / "wizard-desktop-light-system.png", full_page=True)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="OpenCode server")).to_be_visible()
    page.get_by_label("OpenCode binary").fill("/nonexistent/opencode")
    page.get_by_label("Workspace folder").fill(str(tmp_path / "project"))
    page.get_by_label("Start OpenCode when Nexus starts").uncheck()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#binary-error")).to_contain_text("does not exist")
    page.get_by_label("OpenCode binary").fill("")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Owner password")).to_be_visible()
    page.get_by_label("User name").fill("owner")
    page.get_by_label("Password", exact=True).fill("password1")
    expect(page.locator("#strength")).to_contain_text("Strength")
    page.get_by_label("Password again").fill("password1")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#password-error")).to_contain_text("too weak")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    expect(page.locator("#meter-bar")).not_to_have_attribute("data-score", "0")
    assert not serious_violations(page)
    page.screenshot(path=screenshot_dir / "wizard-desktop-light-password.png", full_page=True)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Remote access")).to_be_visible()
    page.get_by_label("Named tunnel").check()
    expect(page.get_by_label("Tunnel token", exact=True)).to_be_visible()
    page.screenshot(path=screenshot_dir / "wizard-desktop-light-tunnel.png", full_page=True)
    assert not serious_violations(page)
    page.get_by_role("radio", name="Off").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="All set")).to_be_visible()
    expect(page.locator("#summary")).to_contain_text("owner")
    # The summary says what is true about OpenCode: found where, or not installed (never a guess).
    from nexus.server.binary import BinaryNotFound, find_opencode
    try:
        expected = f"found: {find_opencode()[0]}"
    except BinaryNotFound:
        expected = "not installed. Install it with the command: npm install -g opencode-ai"
    expect(page.locator("#summary")).to_contain_text(expected)
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)  # no navigation before setup is done
    page.get_by_role("button", name="Open Nexus").click()
    expect(page).to_have_url(f"{served.url}/")
    assert served.runtime.setup.completed and served.runtime.auth.username() == "owner"
    assert served.runtime.settings["server.workspace"] == str(tmp_path / "project")
    # Signed in by the wizard: the main page loads and offers sign-out.
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    assert not [e for e in errors if "status of 422" not in e], (errors, refused)  # 422s: the two refused answers above
    context.close()


@pytest.mark.parametrize("view", ["phone-light", "phone-dark", "desktop-dark"])
def test_wizard_looks_right(browser: Browser, served: Served, screenshot_dir, view: str) -> None:
    context = browser.new_context(base_url=served.url, **VIEWS[view])
    page = context.new_page()
    page.goto(f"/setup?token={served.runtime.auth.setup_token()}")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name="System check")).to_be_visible()
    expect(page.locator("#checks li")).not_to_have_count(0)
    assert no_horizontal_scroll(page)
    assert not serious_violations(page)
    page.screenshot(path=screenshot_dir / f"wizard-{view}-system.png", full_page=True)
    context.close()
