"""Projects in a real Chromium against a real Nexus and the real OpenCode: pick a project in
the new-session dialog (with the folder browser), chat, see that project's files in the
workspace pane; on a phone, open a session that was started outside Nexus."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.chat_fixtures import ChatNexus, module_chat_nexus
from tests.browser.conftest import SCREENSHOTS
from tests.wait_helpers import wait_until

REPLY = 45_000  # generous: the machine is shared
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture(scope="module")
def nexus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatNexus]:
    base = tmp_path_factory.mktemp("projects-ui")
    for name in ("omega", "sigma"):
        root = base / "code" / name
        root.mkdir(parents=True)
        (root / f"{name}-only.txt").write_text(f"this file lives in {name}\n")
        git = ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t"]
        subprocess.run([*git, "init", "-q", "-b", f"{name}-branch"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "start"], check=True)
    # HOME is the folder browser's root.
    with module_chat_nexus(base, SHELL="/bin/sh", HOME=str(base)) as nx:
        nx.base = base  # type: ignore[attr-defined]
        yield nx


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"projects-{name}.png"
    page.screenshot(path=path)
    return path


def test_pick_a_project_chat_and_see_its_files(new_page: Any, nexus: ChatNexus) -> None:
    omega = nexus.base / "code" / "omega"  # type: ignore[attr-defined]
    page = new_page(nexus.url, viewport=DESKTOP)
    page.goto("/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
    page.get_by_role("button", name="New session").first.click()
    dialog = page.locator("#new-dialog")
    dialog.get_by_label("Title").fill("Omega work")
    # The folder browser: home, then code, then omega (folders only; files are not offered).
    dialog.get_by_role("button", name="Browse…").click()
    browser = dialog.locator("#new-browser")
    browser.get_by_role("button", name="code", exact=True).click()
    expect(browser.locator(".browser-path")).to_have_text(str(nexus.base / "code"))  # type: ignore[attr-defined]
    expect(browser.get_by_role("button", name="sigma", exact=True)).to_be_visible()
    browser.get_by_role("button", name="omega", exact=True).click()
    expect(browser.locator(".browser-path")).to_have_text(str(omega))
    expect(browser.locator(".folder")).to_have_count(0)
    shot(dialog, "picker-desktop")
    browser.get_by_role("button", name="Use this folder").click()
    expect(dialog.get_by_label("Project folder")).to_have_value(str(omega))
    dialog.get_by_role("button", name="Start").click()
    card = page.locator(".session.card", has=page.get_by_role("link", name="Omega work", exact=True))
    expect(card).to_have_attribute("data-loaded", "1", timeout=10_000)
    expect(card.locator(".project-chip")).to_have_text("omega · omega-branch", timeout=10_000)
    box = card.get_by_label("Message", exact=True)
    box.fill("hello omega")
    box.press("Enter")
    expect(card.locator('.msg[data-role="assistant"]').last).to_contain_text("You said: hello omega", timeout=REPLY)
    shot(page, "card-desktop")

    # The session page's workspace pane shows omega's files, not server.workspace's.
    card.get_by_role("link", name="Omega work", exact=True).click()
    expect(page.locator("#workspace-layout")).to_have_attribute("data-pane", re.compile(r"shown|hidden"),
                                                                timeout=15_000)
    page.get_by_role("tab", name="Files").click()
    expect(page.locator(".tree-item", has_text="omega-only.txt")).to_be_visible(timeout=10_000)
    expect(page.locator(".tree-item", has_text="sigma-only.txt")).to_have_count(0)
    shot(page, "files-desktop")

    # The new folder is now a recent project, first in the picker's list.
    page.goto("/")
    page.get_by_role("button", name="New session").first.click()
    options = page.locator("#new-project-list option")
    expect(options.first).to_have_attribute("value", str(omega), timeout=10_000)


def test_phone_opens_a_session_started_outside_nexus(new_page: Any, nexus: ChatNexus) -> None:
    sigma = nexus.base / "code" / "sigma"  # type: ignore[attr-defined]
    rt = nexus.runtime
    # What OpenCode's terminal client does: a session and a prompt straight through OpenCode's API.
    client = rt.supervisor.client
    info = client.json("POST", "/session", params={"directory": str(sigma)}, json={"title": "Started in the TUI"})
    wait_until(lambda: rt.chat.repo.find_by_engine_ref("opencode", info["id"]) is not None, 10,
               "the session was adopted")
    client.json("POST", f"/session/{info['id']}/message", params={"directory": str(sigma)},
                json={"parts": [{"type": "text", "text": "hi from the terminal"}]}, timeout=60)
    page = new_page(nexus.url, **PHONE)
    page.goto("/")
    card = page.locator(".session.card", has=page.get_by_role("link", name="Started in the TUI", exact=True))
    expect(card).to_be_visible(timeout=10_000)
    expect(card.locator(".project-chip")).to_have_text("sigma · sigma-branch", timeout=10_000)
    card.get_by_role("link", name="Started in the TUI", exact=True).click()
    expect(page.locator('.msg[data-role="user"]').first).to_contain_text("hi from the terminal", timeout=REPLY)
    expect(page.locator('.msg[data-role="assistant"]').last).to_contain_text("You said: hi from the terminal",
                                                                          timeout=REPLY)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width} px)"
    shot(page, "adopted-phone")
    # And it can be continued from the phone.
    page.get_by_label("Message", exact=True).fill("and now from the phone")
    page.get_by_role("button", name="Send", exact=True).click()  # on a touch screen Enter is a new line
    expect(page.locator('.msg[data-role="assistant"]').last).to_contain_text("You said: and now from the phone",
                                                                          timeout=REPLY)


def test_workspace_pane_of_a_session_on_an_attached_server(new_page: Any, nexus: ChatNexus) -> None:
    """A second, real `opencode serve` attached by URL with a password: the pane of a session
    there shows that server's folder (read through OpenCode), its changes, and says that
    running one command is for projects on this computer."""
    from tests.fakes.fake_llm import opencode_env
    from tests.test_projects import _git_repo, _serve, _stop

    base: Path = nexus.base  # type: ignore[attr-defined]
    rt = nexus.runtime
    kappa = _git_repo(base / "box" / "kappa", {"kappa-only.txt": "served by the box\n"})
    (kappa / "fresh.txt").write_text("not committed yet\n")
    password = "box-pw-5521"
    env = {**opencode_env(nexus.fake_llm.base_url, str(base / "box-state"), None, permission_bash="allow"),
           "OPENCODE_SERVER_PASSWORD": password}
    proc, url = _serve(env, kappa, base / "box.log")
    try:
        server_id = rt.servers.add(name="Box", url=url, password=password)["id"]
        wait_until(rt.chat.server_engines[server_id].connected.is_set, 30, "the attached server's event stream")
        session = rt.chat.create(title="On the box", directory=str(kappa), server=server_id)
        for viewport, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
            page = new_page(nexus.url, viewport=viewport) if name == "desktop" else new_page(nexus.url, **viewport)
            page.goto(f"/s/{session['id']}")
            # The header names the server as the owner named it, not by its id.
            expect(page.locator(".session.full .server-chip")).to_have_text("Box", timeout=15_000)
            if name == "phone":
                page.get_by_role("tab", name="Files").click()
            else:
                expect(page.locator("#workspace-layout")).to_have_attribute("data-pane", re.compile(r"shown|hidden"),
                                                                            timeout=15_000)
                page.get_by_role("tab", name="Files").click()
            expect(page.locator(".tree-item", has_text="kappa-only.txt")).to_be_visible(timeout=15_000)
            expect(page.locator(".tree-item", has_text="omega-only.txt")).to_have_count(0)
            page.locator(".tree-item", has_text="kappa-only.txt").locator(".tree-label").click()
            expect(page.locator(".file-text")).to_contain_text("served by the box", timeout=15_000)
            # The open file's name reads on one line, on a phone too (it broke every few letters).
            lines = page.locator(".viewer-path").evaluate(
                "e => Math.round(e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight))")
            assert lines == 1, f"the file's name takes {lines} lines"
            shot(page, f"attached-files-{name}")
            page.get_by_role("tab", name="Changes").click()
            expect(page.locator(".change-path", has_text="fresh.txt")).to_be_visible(timeout=15_000)
            expect(page.locator(".change-path")).to_have_count(1)
            shot(page, f"attached-changes-{name}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= (1440 if name == "desktop" else 375), f"the page scrolls sideways ({width} px)"
            if name == "desktop":
                page.get_by_role("tab", name="Terminal").click()
                page.locator(".command-box summary").click()
                page.get_by_label("Command to run in the workspace").fill("ls")
                page.get_by_role("button", name="Run", exact=True).click()
                expect(page.locator(".command-box .pane-note")).to_contain_text(
                    "only for projects on this computer", timeout=15_000)
                shot(page, "attached-run-refused-desktop")
            page.close()
    finally:
        _stop(proc)
