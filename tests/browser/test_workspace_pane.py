"""The workspace pane in a real Chromium against a real Nexus with the real OpenCode: terminal
(type, resize, reload and reattach), files and changes after the agent writes a file, the
phone's tabs, both themes, axe."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .chat_fixtures import ChatNexus, module_chat_nexus
from .conftest import SCREENSHOTS
from .test_chat_ui import axe_serious, no_horizontal_scroll

pytestmark = [pytest.mark.opencode, pytest.mark.slow]

REPLY = 15_000
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture(scope="module")
def nexus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatNexus]:
    base = tmp_path_factory.mktemp("workspace-ui")
    workspace = base / "workspace"
    workspace.mkdir()
    (workspace / "README.md").write_text("# Demo\n\nA small project.\n")
    (workspace / ".gitignore").write_text("*.log\n")
    (workspace / "debug.log").write_text("ignored\n")
    git = ["git", "-C", str(workspace), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "start"], check=True)
    # A plain shell without the developer's start-up files (fast and the same everywhere).
    with module_chat_nexus(base, SHELL="/bin/sh", HOME=str(base)) as nx:
        yield nx


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"workspace-{name}.png"
    page.screenshot(path=path)
    return path


def errors_of(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def pane_ready(page: Page) -> None:
    """The page's modules ran (the layout is applied): until then a tab does nothing."""
    expect(page.locator("#workspace-layout")).to_have_attribute("data-pane", re.compile(r"shown|hidden"),
                                                                timeout=15_000)


def screen_lines(page: Page) -> list[str]:
    return page.locator(".term-host:not([hidden]) .xterm-rows > div").all_inner_texts()


def run_in_terminal(page: Page, command: str, expected: str) -> None:
    page.locator(".term-host:not([hidden]) .xterm").click()
    page.keyboard.type(command + "\n")
    expect(page.locator(".term-host:not([hidden]) .xterm-rows")).to_contain_text(expected, timeout=10_000)


def stty_sizes(page: Page) -> list[tuple[int, int]]:
    return [(int(m[1]), int(m[2])) for line in screen_lines(page) if (m := re.fullmatch(r"(\d+) (\d+)", line.strip()))]


def test_terminal_resize_reload_and_agent_changes(new_page: Any, nexus: ChatNexus) -> None:
    session = nexus.runtime.chat.create(title="Workspace demo")
    page = new_page(nexus.url, viewport=DESKTOP)
    errors = errors_of(page)
    page.goto(f"/s/{session['id']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
    pane_ready(page)

    page.get_by_role("tab", name="Terminal").click()
    expect(page.locator(".term-host .xterm")).to_be_visible(timeout=30_000)  # OpenCode makes the PTY
    run_in_terminal(page, "echo hel''lo", "hello")
    run_in_terminal(page, "stty size", "stty size")
    expect(page.locator(".term-host .xterm-rows")).to_contain_text(re.compile(r"size\s*\d+ \d+"))
    before = stty_sizes(page)[-1]

    # Drag the divider 300 px to the left: the pane (and the shell's width) grows.
    divider = page.locator("#split-divider").bounding_box()
    assert divider
    x, y = divider["x"] + divider["width"] / 2, divider["y"] + divider["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 150, y, steps=5)
    page.mouse.move(x - 300, y, steps=5)
    page.mouse.up()
    page.wait_for_timeout(300)
    run_in_terminal(page, "clear; stty size", "")
    expect(page.locator(".term-host .xterm-rows")).not_to_contain_text("hello")
    page.wait_for_timeout(300)
    after = stty_sizes(page)[-1]
    assert after[1] > before[1] + 20 and after[0] == before[0], (before, after)
    run_in_terminal(page, "echo marker-before-reload", "marker-before-reload")

    # Reload: the same shell comes back with its screen, and the layout is remembered.
    page.reload()
    expect(page.get_by_role("tab", name="Terminal")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".term-host .xterm-rows")).to_contain_text("marker-before-reload", timeout=10_000)
    assert len(nexus.runtime.workspace.terminals.list(session["id"])) == 1
    run_in_terminal(page, "echo still-here-$((40+2))", "still-here-42")
    shot(page, "terminal-desktop-light")

    # "Run one command": output streams into the pane, and a long one can be stopped.
    page.get_by_text("Run one command").click()
    command = page.get_by_label("Command to run in the workspace")
    command.fill("ls; echo done-$((6*7))")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator(".command-output")).to_contain_text("README.md")
    expect(page.locator(".command-output")).to_contain_text("done-42")
    expect(page.locator(".command-box .pane-note")).to_contain_text("Exited with code 0")
    command.fill("echo waiting; sleep 60")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator(".command-output")).to_contain_text("waiting")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator(".command-box .pane-note")).to_contain_text("Stopped by the user.")
    shot(page, "command-desktop-light")

    # The agent writes a file: it shows in Files and in Changes (refreshed when the step ends).
    page.get_by_role("tab", name="Changes").click()
    expect(page.locator(".changes-list")).to_be_attached()
    expect(page.locator("#panel-changes .pane-note")).to_contain_text("No changes", timeout=10_000)
    box = page.get_by_label("Message", exact=True)
    box.fill("WRITE:made-by-agent.txt:hello from the agent")
    box.press("Enter")
    expect(page.locator(".msg").last).to_have_attribute("data-done", "1", timeout=REPLY)
    expect(page.locator(".change-path")).to_contain_text(["made-by-agent.txt"], timeout=REPLY)
    expect(page.locator(".change .d-add").first).to_contain_text("+hello from the agent")
    shot(page, "changes-desktop-light")
    page.get_by_role("tab", name="Files").click()
    item = page.locator(".tree-item", has_text="made-by-agent.txt")
    expect(item).to_be_visible(timeout=10_000)
    expect(page.locator(".tree-item.ignored", has_text="debug.log")).to_be_visible()
    page.locator(".tree-item", has_text="README.md").click()
    expect(page.locator(".file-text")).to_contain_text("A small project.")
    expect(page.locator(".file-text code.hljs")).to_be_visible()
    shot(page, "files-desktop-light")
    page.get_by_role("button", name="Attach to chat").click()
    expect(page.locator(".attachment")).to_contain_text("README.md")
    no_horizontal_scroll(page)
    assert not axe_serious(page, 'workspace'), axe_serious(page, 'workspace')
    assert not [e for e in errors if "favicon" not in e], errors


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_layouts_at_phone_and_desktop(new_page: Any, nexus: ChatNexus, scheme: str) -> None:
    sessions, _ = nexus.runtime.chat.list("active", limit=50)
    session = sessions[0] if sessions else nexus.runtime.chat.create(title="Workspace demo")
    desktop = new_page(nexus.url, viewport=DESKTOP, color_scheme=scheme)
    errors = errors_of(desktop)
    desktop.goto(f"/s/{session['id']}")
    pane_ready(desktop)
    for tab in ("Terminal", "Files", "Changes"):
        desktop.get_by_role("tab", name=tab).click()
        desktop.wait_for_timeout(400)
        no_horizontal_scroll(desktop)
        shot(desktop, f"{tab.lower()}-desktop-{scheme}")
        assert not axe_serious(desktop, 'workspace-desktop'), (tab, axe_serious(desktop, 'workspace-desktop'))
    # Hide the chat, then bring it back.
    desktop.get_by_role("button", name="Hide chat").click()
    # Out of sight, but its title stays the page's one h1 for screen readers.
    expect(desktop.locator("#workspace-layout")).to_have_attribute("data-chat", "hidden")
    box = desktop.locator("#session-host").bounding_box()
    assert box is not None and box["width"] <= 1 and box["height"] <= 1, box
    expect(desktop.get_by_role("heading", level=1)).to_have_count(1)
    shot(desktop, f"chat-hidden-desktop-{scheme}")
    desktop.get_by_role("button", name="Show chat").click()
    expect(desktop.locator("#session-host")).to_be_visible()

    phone = new_page(nexus.url, color_scheme=scheme, **PHONE)
    errors += errors_of(phone)
    phone.goto(f"/s/{session['id']}")
    pane_ready(phone)
    tabs = phone.get_by_role("tablist", name="Session view")
    expect(tabs).to_be_visible()
    expect(phone.locator(".workspace-pane")).to_be_hidden()
    for tab in ("Terminal", "Files", "Changes", "Chat"):
        tabs.get_by_role("tab", name=tab).click()
        expect(phone.locator(".workspace-pane")).to_be_visible() if tab != "Chat" else \
            expect(phone.locator("#session-host")).to_be_visible()
        expect(phone.get_by_role("heading", level=1)).to_have_count(1)  # one h1 in every tab
        phone.wait_for_timeout(400)
        no_horizontal_scroll(phone)
        shot(phone, f"{tab.lower()}-phone-{scheme}")
        assert not axe_serious(phone, 'workspace-phone'), (tab, axe_serious(phone, 'workspace-phone'))
    assert not errors, errors


def test_remote_terminal_switch_on_the_security_page(new_page: Any, live_nexus: Any) -> None:
    page = new_page(live_nexus.url, viewport=DESKTOP)
    errors = errors_of(page)
    page.goto("/security")
    switch = page.get_by_label("Allow shell commands through the tunnel")
    expect(switch).not_to_be_checked()
    # click(), not check(): the page puts the box back while it asks for the password, and
    # check() would call that a failed click.
    switch.click()
    # A security change: the owner confirms the password first (then the change goes through).
    from tests.auth_helpers import PASSWORD

    dialog = page.get_by_role("dialog", name="Confirm your password")
    expect(dialog).to_be_visible()
    page.locator("#terminal-panel").page.screenshot(path=SCREENSHOTS / "security-confirm-password.png")
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator("#terminal-remote-reason")).to_contain_text("can now open terminals")
    assert live_nexus.runtime.settings["terminal.remote_enabled"] is True
    page.locator("#terminal-panel").screenshot(path=SCREENSHOTS / "workspace-security-switch.png")
    switch.click()
    expect(switch).not_to_be_checked()
    expect(page.locator("#terminal-remote-reason")).to_contain_text("off for remote devices")
    assert live_nexus.runtime.settings["terminal.remote_enabled"] is False
    assert not [e for e in errors if "403" not in e], errors  # the first PATCH was refused until confirmed


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_through_the_tunnel_the_pane_says_why_terminals_are_refused(new_page: Any, live_nexus: Any, device: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.auth_helpers import OWNER, PASSWORD, make_owner

    monkeypatch.setenv("SHELL", "/bin/sh")
    rt = live_nexus.runtime
    make_owner(rt)
    rt.chat.repo.create_session({"id": "s_remote", "engine": "anthropic", "engine_ref": "r", "title": "Remote"})
    # What cloudflared adds to every request it forwards: Nexus treats the page as remote.
    page = new_page(live_nexus.url, extra_http_headers={"Cf-Connecting-Ip": "203.0.113.9"},
                    **({"viewport": DESKTOP} if device == "desktop" else PHONE))
    errors = errors_of(page)
    page.goto("/s/s_remote")
    page.get_by_label("User name").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_nexus.url}/s/s_remote")
    pane_ready(page)
    tabs = "Workspace tools" if device == "desktop" else "Session view"
    page.get_by_role("tablist", name=tabs).get_by_role("tab", name="Terminal").click()
    expect(page.locator("#panel-terminal > .pane-note")).to_contain_text("switched off for remote devices",
                                                                        timeout=20_000)
    page.get_by_text("Run one command").click()
    page.get_by_label("Command to run in the workspace").fill("id")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator(".command-box .pane-note")).to_contain_text("switched off for remote devices")
    shot(page, f"terminal-refused-{device}-light")
    assert rt.workspace.terminals.count() == 0
    # Refused: no empty terminal box and no "New terminal" that cannot work; a way to try again.
    expect(page.locator("#panel-terminal .term-hosts")).to_be_hidden()
    expect(page.get_by_role("button", name="New terminal")).to_have_count(0)
    expect(page.locator("#panel-terminal .term-hint")).to_be_hidden()

    rt.settings.update({"terminal.remote_enabled": True})  # the owner allows it, on the computer
    page.get_by_role("button", name="Try again").click()
    expect(page.locator("#panel-terminal .term-hosts")).to_be_visible()
    run_in_terminal(page, "echo remote-$((2*21))", "remote-42")
    # Not a keyboard trap: the key shown in the pane leaves the terminal for its tab, Tab goes on.
    expect(page.locator("#panel-terminal .term-hint")).to_contain_text("leaves the terminal")
    page.keyboard.press("Control+BracketRight")
    expect(page.get_by_role("tab", name="Shell 1")).to_be_focused()
    page.locator(".term-host:not([hidden]) .xterm").click()
    page.keyboard.press("F6")
    expect(page.get_by_role("tab", name="Shell 1")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="New terminal")).to_be_focused()
    assert not [e for e in errors if "403" not in e], errors  # the refused POST logs a 403
