"""Issue 19 items 6 and 9 on the built-in Anthropic engine, where they apply: edit and resend
the last message, and a write that overwrites a file shows its real diff. Undo and fork need
OpenCode's snapshots and sessions: here they are refused clearly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus.chat.engines.anthropic import API_KEY_SECRET
from nexus.chat.service import ChatError
from nexus.runtime import Runtime
from tests.auth_helpers import remember
from tests.chat_helpers import collect, status_is, text_of
from tests.fakes import fake_anthropic as fa


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "app.py").write_text("def greet():\n    return 'hello'\n")
    return root


@pytest.fixture
def rt(tmp_path: Path, fake_anthropic: fa.FakeAnthropic, workspace: Path, make_runtime) -> Iterator[Runtime]:
    runtime = make_runtime()
    runtime.settings.update({"server.autostart": False, "anthropic.base_url": fake_anthropic.url,
                             "anthropic.max_retries": 0, "server.workspace": str(workspace)})
    runtime.secrets.set(API_KEY_SECRET, remember(fa.VALID_KEY))
    runtime.start()
    yield runtime
    runtime.stop()


def _session(rt: Runtime) -> tuple[str, object]:
    config = rt.agents.create({"name": "Coder", "engine": "anthropic", "model": "claude-sonnet-5-5"})
    session = rt.chat.create(agent_id=config["id"])
    client = rt.chat.hub.client()
    rt.chat.follow(client, session["id"], None, None)
    return session["id"], client


def _turn(rt: Runtime, client, sid: str, text: str) -> list:
    rt.chat.prompt(sid, text=text)
    return collect(client, status_is("idle"))


def test_edit_and_resend_replaces_the_last_exchange(rt: Runtime, fake_anthropic: fa.FakeAnthropic) -> None:
    fake_anthropic.queue(fa.reply("Answer one."))
    fake_anthropic.queue(fa.reply("Answer to a typo."))
    fake_anthropic.queue(fa.reply("Answer two."))
    sid, client = _session(rt)
    _turn(rt, client, sid, "first")
    _turn(rt, client, sid, "secnod")
    rt.chat.history.edit_last(sid, "second")
    events = collect(client, status_is("idle"))
    assert text_of(events) == "Answer two."
    assert sum(e.type == "message.removed" for e in events) == 2
    sent = fake_anthropic.requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert "secnod" not in str(sent) and "Answer to a typo." not in str(sent) and "second" in str(sent[-1])
    rt.chat.writer.flush(sid)
    texts = [p["text"] for m in rt.chat.messages(sid)["messages"] for p in m["parts"] if p["kind"] == "text"]
    assert texts == ["first", "Answer one.", "second", "Answer two."]
    for refused in (lambda: rt.chat.history.revert(sid, rt.chat.messages(sid)["messages"][0]["id"]),
                    lambda: rt.chat.history.fork(sid)):
        with pytest.raises(ChatError) as failure:
            refused()
        assert failure.value.status == 400 and failure.value.code == "not_supported"


def test_a_write_over_an_existing_file_shows_the_removed_lines(rt: Runtime, fake_anthropic: fa.FakeAnthropic,
                                                               workspace: Path) -> None:
    fake_anthropic.queue(fa.tool_call("toolu_1", "write", {"filePath": "app.py",
                                                           "content": "def greet():\n    return 'hi'\n"}))
    fake_anthropic.queue(fa.reply("Rewrote it."))
    sid, client = _session(rt)
    rt.chat.prompt(sid, text="rewrite app.py")
    asked = collect(client, lambda e: e.type == "permission.asked")[-1].data["permission"]
    rt.chat.reply_permission(sid, asked["id"], "once")
    events = collect(client, status_is("idle"))
    write = next(e for e in events if e.type == "tool.end").data["part"]
    diff = write["metadata"]["diff"].splitlines()
    assert "-    return 'hello'" in diff and "+    return 'hi'" in diff
    assert (workspace / "app.py").read_text() == "def greet():\n    return 'hi'\n"
