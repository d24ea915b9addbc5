"""On the phone through the tunnel, with remote shell commands off, the agent's request to run
a command shows "Approve on this computer" and only Deny (real Chromium, OpenCode, fake model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.auth_helpers import OWNER, PASSWORD
from tests.browser.conftest import SCREENSHOTS
from tests.browser.viewports import VIEWS

from .chat_fixtures import ChatNexus, module_chat_nexus

pytestmark = pytest.mark.opencode
REPLY = 45_000


@pytest.fixture(scope="module")
def nexus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatNexus]:
    with module_chat_nexus(tmp_path_factory.mktemp("remote-approval")) as nx:
        yield nx


@pytest.mark.parametrize("view", ["phone-dark", "desktop-light"])
def test_a_remote_shell_request_says_approve_on_this_computer(new_page: Any, nexus: ChatNexus, view: str) -> None:
    rt = nexus.runtime
    assert rt.settings["terminal.remote_enabled"] is False
    session = rt.chat.create(title=f"Remote approval {view}")
    page = new_page(nexus.url, extra_http_headers={"Cf-Connecting-Ip": "203.0.113.9"}, **VIEWS[view])
    page.goto(f"/s/{session['id']}")
    page.get_by_label("User name").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{nexus.url}/s/{session['id']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
    box = page.get_by_label("Message", exact=True)
    box.fill("TOOL:echo from-the-phone")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(box).to_have_value("", timeout=10_000)
    prompt = page.locator(".permission").last
    expect(prompt).to_be_visible(timeout=REPLY)
    expect(prompt).to_contain_text("Approve on this computer")
    expect(prompt.get_by_role("button", name="Allow once")).to_have_count(0)
    expect(prompt.get_by_role("button", name="Always allow")).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=Path(SCREENSHOTS) / f"remote-approval-{view}.png")
    prompt.get_by_role("button", name="Deny").click()
    # Denying works from anywhere: the prompt goes (the answered event can arrive before the
    # POST's own answer, so the prompt's transient "answered" mark is not what is checked)
    # and the command never ran.
    expect(page.locator(".permission")).to_have_count(0, timeout=REPLY)
    expect(page.locator('.tool[data-status="error"]').last).to_contain_text("echo from-the-phone", timeout=REPLY)
