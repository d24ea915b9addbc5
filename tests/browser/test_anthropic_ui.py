"""The Anthropic engine and the Agents page in a real Chromium, against a real Nexus (no
OpenCode at all), the real `anthropic` SDK and the fake Messages API
(tests/fakes/fake_anthropic.py), with a real temporary workspace folder."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from nexus.chat.engines.anthropic import API_KEY_SECRET
from tests.auth_helpers import remember
from tests.fakes import fake_anthropic as fa

from .test_chat_ui import axe_serious, idle, last_reply, no_horizontal_scroll, send, shot, wait_live
from .viewports import VIEWS

REPLY = 15_000


@pytest.fixture
def anthropic_nexus(live_nexus: Any, fake_anthropic: fa.FakeAnthropic, tmp_path: Path) -> Any:
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "app.py").write_text("def greet():\n    return 'hello'\n")
    (tmp_path / "secret.txt").write_text("top secret")
    live_nexus.runtime.settings.update({"anthropic.base_url": fake_anthropic.url, "anthropic.max_retries": 0,
                                        "server.workspace": str(workspace)})
    live_nexus.workspace = workspace
    return live_nexus


def _card(page: Page) -> Any:
    card = page.locator(".session.card").first
    expect(card).to_have_attribute("data-loaded", "1", timeout=10_000)
    return page.locator(f'.session.card[data-session="{card.get_attribute("data-session")}"]')


def test_agent_page_key_and_agent_then_tool_loop_stop_and_errors(anthropic_nexus: Any, fake_anthropic: fa.FakeAnthropic,
                                                                 new_page: Any) -> None:
    page = new_page(anthropic_nexus.url, viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/agents")
    expect(page.locator("#key-state")).to_have_text("no key")

    # The key: a wrong one is refused (and not kept), the right one is tested and stored.
    page.get_by_label("API key", exact=True).fill(remember("sk-ant-wrong-key-0123456789"))
    page.get_by_role("button", name="Save and test").click()
    expect(page.locator("#key-error")).to_contain_text("Anthropic refused the API key")
    expect(page.locator("#key-state")).to_have_text("no key")
    page.get_by_label("API key", exact=True).fill(remember(fa.VALID_KEY))
    page.get_by_role("button", name="Save and test").click()
    expect(page.locator("#key-status")).to_have_text("Saved. Anthropic accepted the key.")
    expect(page.locator("#key-state")).to_have_text("key set")
    expect(page.get_by_label("API key", exact=True)).to_have_value("")
    assert anthropic_nexus.runtime.secrets.get(API_KEY_SECRET) == fa.VALID_KEY

    # An agent: a bad thinking budget is marked, then fixed.
    page.get_by_role("button", name="New agent").click()
    page.get_by_label("Name", exact=True).fill("Coder")
    expect(page.get_by_label("Model")).to_have_value("claude-sonnet-5-5")
    page.get_by_label("Max tokens").fill("4096")
    page.get_by_label("Thinking budget").fill("500")
    page.get_by_label("System prompt").fill("You are a careful coder.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#e-thinking_budget")).to_contain_text("at least 1,024")
    page.get_by_label("Thinking budget").fill("1024")
    page.get_by_role("button", name="Save", exact=True).click()
    row = page.locator(".agent-list li", has_text="Coder")
    expect(row).to_contain_text("Anthropic · claude-sonnet-5-5 · thinking 1,024 · all tools")
    shot(page, "agents-desktop-light")

    # Try it: a new card with that agent.
    row.get_by_role("button", name="Try Coder").click()
    page.wait_for_url(re.compile(r"/$"))
    wait_live(page)
    card = _card(page)

    # read -> edit (asks; allowed once; diff shown) -> bash (asks; allowed) -> answer.
    fake_anthropic.queue(fa.tool_call("toolu_1", "read", {"filePath": "app.py"}, thinking="I should read app.py first."))
    fake_anthropic.queue(fa.tool_call("toolu_2", "edit", {"filePath": "app.py", "oldString": "'hello'",
                                                "newString": "'hello, world'"}))
    fake_anthropic.queue(fa.tool_call("toolu_3", "bash", {"command": "python3 -c 'import app; print(app.greet())'"}))
    fake_anthropic.queue(fa.reply("Done: the greeting is now hello, world."))
    send(card, "Change the greeting and run it")
    prompt = card.locator(".permission")
    expect(prompt).to_contain_text("app.py", timeout=REPLY)
    expect(card.locator("details.tool").first).to_have_attribute("data-status", "completed")
    shot(page, "anthropic-permission-desktop-light")
    prompt.get_by_role("button", name="Allow once").click()
    expect(prompt).to_contain_text("import app", timeout=REPLY)
    prompt.get_by_role("button", name="Allow once").click()
    expect(last_reply(card)).to_contain_text("Done: the greeting is now hello, world.", timeout=REPLY)
    idle(card)
    assert "'hello, world'" in (anthropic_nexus.workspace / "app.py").read_text()
    edit = card.locator("details.tool", has_text="edit")
    edit.locator("summary").click()
    expect(edit.locator("pre.diff")).to_contain_text("+    return 'hello, world'")
    bash = card.locator("details.tool", has_text="bash")
    bash.locator("summary").click()
    expect(bash.locator(".tool-body")).to_contain_text("hello, world")
    reasoning = card.locator("details.reasoning").first
    reasoning.locator("summary").click()
    expect(reasoning).to_contain_text("I should read app.py first.")
    expect(card.locator(".counters .tokens")).not_to_have_text("0 tokens")
    shot(page, "anthropic-tools-desktop-light")

    # Stop mid-stream: the partial text stays, the cost is marked estimated.
    gate = threading.Event()
    fake_anthropic.queue([fa.message_start(input_tokens=50), *fa.text_block(0, "Partial ", "answer ")[:-1], fa.hold(gate)])
    send(card, "Write a long essay")
    expect(last_reply(card)).to_contain_text("Partial answer", timeout=REPLY)
    card.get_by_role("button", name="Stop").click()
    expect(last_reply(card).locator(".msg-stopped")).to_contain_text("cost is estimated", timeout=REPLY)
    idle(card)
    gate.set()
    expect(last_reply(card).locator(".md")).to_have_text("Partial answer")

    # A path outside the workspace is refused, a symlink out of it too.
    (anthropic_nexus.workspace / "link.txt").symlink_to(anthropic_nexus.workspace.parent / "secret.txt")
    fake_anthropic.queue(fa.tool_call("toolu_x", "read", {"filePath": "../secret.txt"}))
    fake_anthropic.queue(fa.tool_call("toolu_y", "read", {"filePath": "link.txt"}))
    fake_anthropic.queue(fa.reply("I may not read that."))
    send(card, "Read the secret")
    expect(last_reply(card)).to_contain_text("I may not read that.", timeout=REPLY)
    idle(card)
    refused = card.locator("details.tool[data-status=error]")
    expect(refused).to_have_count(2)
    refused.first.locator("summary").click()
    expect(refused.first).to_contain_text("outside the workspace")
    assert not any("top secret" in str(r["body"]) for r in fake_anthropic.requests)

    # Every error in plain words, with what to do.
    for status, type_, headers, words in [
        (401, "authentication_error", {}, "Anthropic refused the API key. Copy a valid one from console.anthropic.com"),
        (429, "rate_limit_error", {"retry-after": "30"}, "Anthropic is rate limiting this key. Try again in 30 s."),
        (529, "overloaded_error", {}, "Anthropic is overloaded right now."),
        (400, "invalid_request_error", {}, "The conversation is too long for the model's context window."),
    ]:
        fake_anthropic.queue_error(status, type_, "prompt is too long: 300000 tokens > 200000 maximum"
                         if status == 400 else "error", headers)
        send(card, f"trigger {status}")
        expect(last_reply(card).locator(".msg-error")).to_contain_text(words, timeout=REPLY)
        idle(card)
    shot(page, "anthropic-errors-desktop-light")

    # The full view after a reload: the whole conversation comes back from the store.
    page.goto(f"/s/{card.get_attribute('data-session')}")
    wait_live(page)
    full = page.locator(".session.full")
    expect(full).to_have_attribute("data-loaded", "1")
    expect(full).to_contain_text("Done: the greeting is now hello, world.")
    expect(full.locator("details.tool")).to_have_count(5)
    expect(full.locator(".msg-error")).to_have_count(4)
    assert not errors, errors


@pytest.mark.parametrize("view", list(VIEWS))
def test_agents_page_looks_right_and_passes_axe(anthropic_nexus: Any, new_page: Any, view: str) -> None:
    anthropic_nexus.runtime.agents.create({"name": "Reviewer with a rather long name", "engine": "anthropic",
                                 "model": "claude-opus-5-5", "tools": ["read", "grep", "list"],
                                 "system_prompt": "Review.", "thinking_budget": 2048, "max_tokens": 8192})
    anthropic_nexus.runtime.agents.create({"name": "Builder", "engine": "opencode", "opencode_agent": "build",
                                 "system_prompt": "Build."})
    page = new_page(anthropic_nexus.url, **VIEWS[view])
    page.goto("/agents")
    expect(page.locator(".agent-list li")).to_have_count(2)
    page.get_by_role("button", name="Edit Reviewer with a rather long name").click()
    expect(page.get_by_label("Model")).to_have_value("claude-opus-5-5")
    expect(page.locator("#tool-grid input:checked")).to_have_count(3)
    no_horizontal_scroll(page)
    shot(page, f"agents-edit-{view}")
    page.screenshot(path=shot(page, f"agents-edit-full-{view}"), full_page=True)
    problems = axe_serious(page, f"agents-{view}")
    assert not problems, problems
    page.get_by_role("radio", name=re.compile("^OpenCode")).check()
    expect(page.locator("#row-opencode-agent")).to_be_visible()
    expect(page.locator("#row-thinking")).to_be_hidden()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Duplicate Builder").click()
    expect(page.locator(".agent-list li")).to_have_count(3)
    expect(page.get_by_label("Name", exact=True)).to_have_value("Builder (copy)")


@pytest.mark.fresh_install
def test_wizard_takes_an_optional_anthropic_key_and_tests_it(anthropic_nexus: Any, new_page: Any) -> None:
    page = new_page(anthropic_nexus.url, **VIEWS["desktop-light"])
    page.goto(f"/setup?token={anthropic_nexus.runtime.auth.setup_token()}")
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="OpenCode server")).to_be_visible()
    page.get_by_label("Anthropic API key").fill(remember("sk-ant-wrong-wizard-0123456789"))
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#anthropic-key-error")).to_contain_text("Anthropic refused the API key")
    expect(page.get_by_label("Anthropic API key")).to_have_attribute("aria-invalid", "true")
    assert anthropic_nexus.runtime.secrets.get(API_KEY_SECRET) is None
    page.screenshot(path=shot(page, "wizard-anthropic-key-desktop-light"), full_page=True)
    page.get_by_label("Anthropic API key").fill(remember(fa.VALID_KEY))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Owner password")).to_be_visible()
    assert anthropic_nexus.runtime.secrets.get(API_KEY_SECRET) == fa.VALID_KEY


@pytest.mark.parametrize("view", ["desktop-light", "phone-dark"])
def test_new_session_dialog_picks_a_named_agent(anthropic_nexus: Any, fake_anthropic: fa.FakeAnthropic, new_page: Any, view: str) -> None:
    anthropic_nexus.runtime.secrets.set(API_KEY_SECRET, remember(fa.VALID_KEY))
    anthropic_nexus.runtime.agents.create({"name": "Haiku helper", "engine": "anthropic", "model": "claude-haiku-4-5"})
    page = new_page(anthropic_nexus.url, **VIEWS[view])
    page.goto("/")
    wait_live(page)
    page.get_by_role("button", name="New session").first.click()
    dialog = page.locator("#new-dialog")
    picker = dialog.get_by_label("Named agent")
    expect(picker).to_contain_text("Haiku helper (Anthropic, claude-haiku-4-5)")
    picker.select_option(label="Haiku helper (Anthropic, claude-haiku-4-5)")
    expect(dialog.get_by_label("Agent", exact=True)).to_be_disabled()
    no_horizontal_scroll(page)
    shot(page, f"new-session-named-agent-{view}")
    assert not axe_serious(page, f"new-session-named-agent-{view}")
    dialog.get_by_role("button", name="Start").click()
    if view.startswith("phone"):
        page.wait_for_url(re.compile(r"/s/"))
        view_ = page.locator(".session.full")
    else:
        view_ = _card(page)
    expect(view_).to_contain_text("claude-haiku-4-5")
    fake_anthropic.queue(fa.reply("Hi from Haiku.", input_tokens=1000, output_tokens=1000))
    view_.get_by_label("Message", exact=True).fill("hello")
    view_.get_by_role("button", name="Send").click()  # on a phone Enter makes a new line
    expect(last_reply(view_)).to_contain_text("Hi from Haiku.", timeout=REPLY)
    idle(view_)
    # $1 + $5 per million tokens for 1000 each: $0.006
    expect(view_.locator(".counters")).to_contain_text("$0.0060")
    shot(page, f"anthropic-session-{view}")
    session = anthropic_nexus.runtime.chat.list("active")[0][0]
    assert session["cost"] == pytest.approx(0.006)
