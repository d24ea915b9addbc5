"""Undo and redo, fork, edit and resend, to-dos and sub-agents in a real Chromium against a
real Nexus with the real OpenCode (issue 19 items 6, 7, 9): what a person clicks."""

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

REPLY = 45_000  # a loaded machine slows OpenCode down a lot
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
ORIGINAL = "alpha\nbeta\ngamma\n"


@pytest.fixture(scope="module")
def nexus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatNexus]:
    base = tmp_path_factory.mktemp("history-ui")
    workspace = base / "workspace"
    workspace.mkdir()
    (workspace / "notes.txt").write_text(ORIGINAL)
    # OpenCode snapshots files (for diffs and undo) only in a git project.
    git = ["git", "-C", str(workspace), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "start"], check=True)
    with module_chat_nexus(base, SHELL="/bin/sh", HOME=str(base)) as nx:
        yield nx


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"history-{name}.png"
    page.screenshot(path=path)
    return path


def errors_of(page: Page) -> list[str]:
    """Script errors and failed requests. The workspace pane's terminal is left out: on a busy
    machine OpenCode can be slow to make its PTY (a 500 from /terminals, not this feature's)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 500 and "/terminals" not in r.url else None)
    return errors


def send(page: Page, text: str) -> None:
    """Send and wait for the whole turn: a reply began (so the agent was busy), then idle."""
    box = page.get_by_label("Message", exact=True)
    replies = page.locator(".msg[data-role=assistant]").count()
    box.fill(text)
    page.locator("form.composer").get_by_role("button", name="Send").click()  # a phone's Enter adds a line
    expect(page.locator(".msg[data-role=assistant]")).not_to_have_count(replies, timeout=REPLY)
    expect(page.locator(".session")).to_have_attribute("data-status", "idle", timeout=REPLY)
    expect(page.locator(".msg").last).to_have_attribute("data-done", "1", timeout=REPLY)


def test_undo_restores_the_file_in_the_changes_pane_and_redo_brings_it_back(new_page: Any, nexus: ChatNexus) -> None:
    notes = Path(nexus.runtime.settings["server.workspace"]) / "notes.txt"
    session = nexus.runtime.chat.create(title="Undo demo")
    page = new_page(nexus.url, viewport=DESKTOP)
    errors = errors_of(page)
    page.goto(f"/s/{session['id']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(page.locator("#workspace-layout")).to_have_attribute("data-pane", re.compile(r"shown|hidden"),
                                                                timeout=15_000)
    page.get_by_role("tab", name="Changes").click()
    expect(page.locator("#panel-changes .pane-note")).to_contain_text("No changes", timeout=10_000)

    send(page, "first question")
    send(page, "OVERWRITE:notes.txt:alpha\\nBETA\\ngamma")
    assert notes.read_text() == "alpha\nBETA\ngamma"
    expect(page.locator("#panel-changes .change-path")).to_contain_text(["notes.txt"], timeout=REPLY)
    # The write shows what it removed, not only what it added; so does the turn's diff.
    overwrite = page.locator(".msg[data-role=user]").nth(1)
    expect(overwrite.locator(".turn-diff")).to_contain_text("Changed 1 file", timeout=REPLY)
    write = page.locator("details.tool", has=page.locator(".tool-name", has_text="write"))
    write.locator(":scope > summary").click()
    expect(write.locator(".diff .d-del")).to_contain_text(["-beta"], timeout=REPLY)
    expect(write.locator(".diff .d-add").first).to_contain_text("+BETA")
    shot(page, "overwrite-desktop-light")

    overwrite.get_by_role("button", name="Undo from here").click()
    expect(overwrite).to_have_attribute("data-reverted", "1", timeout=10_000)
    expect(page.locator(".msg[data-role=user]").first).to_have_attribute("data-reverted", "0")
    expect(page.locator(".revert-bar")).to_contain_text("undone")
    expect(page.locator("#panel-changes .pane-note")).to_contain_text("No changes", timeout=10_000)
    assert notes.read_text().rstrip("\n") == ORIGINAL.rstrip("\n")
    shot(page, "undone-desktop-light")
    page.emulate_media(color_scheme="dark")
    shot(page, "undone-desktop-dark")
    assert not axe_serious(page, "history-undone-dark"), axe_serious(page, "history-undone-dark")
    page.emulate_media(color_scheme="light")

    page.locator(".revert-bar").get_by_role("button", name="Redo").click()
    expect(page.locator(".revert-bar")).to_be_hidden(timeout=10_000)
    expect(overwrite).to_have_attribute("data-reverted", "0")
    expect(page.locator("#panel-changes .change-path")).to_contain_text(["notes.txt"], timeout=10_000)
    assert notes.read_text() == "alpha\nBETA\ngamma"

    # Undo again, and the next message replaces the undone ones for good.
    overwrite.get_by_role("button", name="Undo from here").click()
    expect(overwrite).to_have_attribute("data-reverted", "1", timeout=10_000)
    box = page.get_by_label("Message", exact=True)
    box.fill("a new direction")
    box.press("Enter")
    expect(page.locator(".msg[data-role=user]")).to_have_count(2, timeout=REPLY)
    expect(page.locator(".msg[data-role=user]").last).to_contain_text("a new direction")
    expect(page.locator(".revert-bar")).to_be_hidden(timeout=REPLY)
    expect(page.locator(".session")).to_have_attribute("data-status", "idle", timeout=REPLY)
    no_horizontal_scroll(page)
    assert not axe_serious(page, "history"), axe_serious(page, "history")
    assert not [e for e in errors if "favicon" not in e], errors


def test_fork_edit_todos_and_a_sub_agent_on_a_phone(new_page: Any, nexus: ChatNexus) -> None:
    session = nexus.runtime.chat.create(title="Fork demo")
    page = new_page(nexus.url, **PHONE)
    errors = errors_of(page)
    page.goto(f"/s/{session['id']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)
    send(page, "first question")
    send(page, "second with a typo")

    # Edit and resend the last message: the typo and its reply are replaced.
    last = page.locator(".msg[data-role=user]").last
    expect(page.locator(".msg[data-role=user]").first.get_by_role("button", name="Edit")).to_be_hidden()
    last.get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Message").fill("second, corrected")
    dialog.get_by_role("button", name="Send").click()
    expect(page.locator(".msg[data-role=assistant]").last).to_contain_text("You said: second, corrected",
                                                                           timeout=REPLY)
    expect(page.locator(".msg", has_text="typo")).to_have_count(0)
    expect(page.locator(".session")).to_have_attribute("data-status", "idle", timeout=REPLY)

    # To-dos: a compact checklist.
    send(page, "TODO:Write tests=completed|Fix bug=in_progress|Ship it")
    todos = page.locator(".todos")
    expect(todos).to_contain_text("1 of 3 done")
    expect(todos.locator(".todo")).to_have_count(3)
    expect(todos.locator('.todo[data-status="in_progress"]')).to_contain_text("Fix bug")

    # A sub-agent: its status, its transcript inline, its own view.
    send(page, "TASK:child work please")
    task = page.locator("details.tool", has=page.locator(".tool-name", has_text="task"))
    task.locator(":scope > summary").click()
    expect(task.locator(".subagent-status")).to_have_text("Finished", timeout=REPLY)
    task.locator(".subagent-inline summary").click()
    expect(task.locator(".subagent-transcript")).to_contain_text("Hello from fake LLM. You said: child work please")
    no_horizontal_scroll(page)
    shot(page, "todos-subagent-phone-light")
    child_href = task.locator(".subagent-open").get_attribute("href")
    assert child_href and child_href.startswith("/s/s_")

    # The card on the main page shows the same checklist; the sub-agent is no card of its own.
    page.goto("/")
    card = page.locator(f'.session.card[data-session="{session["id"]}"]')
    expect(card.locator(".todos")).to_contain_text("1 of 3 done", timeout=10_000)
    expect(page.locator(f'.session.card[data-session="{child_href[3:]}"]')).to_have_count(0)
    no_horizontal_scroll(page)
    shot(page, "card-todos-phone-light")
    page.goto(f"/s/{session['id']}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=10_000)

    # Fork from the second message: a new session with the conversation before it.
    second = page.locator(".msg[data-role=user]").nth(1)
    second.get_by_role("button", name="Fork from here").click()
    page.locator(".toast").get_by_role("button", name="Open").click()
    expect(page).not_to_have_url(re.compile(re.escape(session["id"])), timeout=10_000)
    expect(page.locator(".msg[data-role=user]")).to_have_count(1, timeout=REPLY)
    expect(page.locator(".msg[data-role=user]")).to_contain_text("first question")
    expect(page.locator(".session-title")).to_contain_text("fork")
    no_horizontal_scroll(page)
    shot(page, "fork-phone-light")
    page.goto(child_href)
    expect(page.locator(".msg[data-role=assistant]")).to_contain_text("You said: child work please",
                                                                      timeout=10_000)
    assert not [e for e in errors if "favicon" not in e], errors
