"""Replies cut off by a crash or restart are closed as "interrupted", with the reason, on
every path; tools they were running end with them; what OpenCode kept is fetched."""

from __future__ import annotations

import os
import signal
import time

import pytest

from nexus.chat.engines.opencode_mapper import OpenCodeMapper
from nexus.runtime import Runtime
from tests.chat_helpers import collect, status_is, wait_for_opencode


def _open_reply_state() -> dict:
    """A transcript as Nexus stored it when it died: a reply streaming, a tool running."""
    return {"session": {"title": "t"}, "status": {"status": "waiting"},
            "permissions": [{"id": "per_1"}],
            "messages": [
                {"id": "msg_u", "role": "user", "created_at": 100.0, "completed_at": 100.0, "parts": []},
                {"id": "msg_a", "role": "assistant", "created_at": 101.0, "completed_at": None,
                 "parts": [{"id": "prt_t", "kind": "text", "text": "half a repl"},
                           {"id": "prt_tool", "kind": "tool", "tool": "bash", "status": "running"}]}]}


def _opencode_kept(completed: bool = False) -> list[dict]:
    """What a restarted OpenCode holds of that reply: the tool still "running" in its store."""
    return [{"info": {"id": "msg_u", "role": "user", "time": {"created": 100_000}}, "parts": []},
            {"info": {"id": "msg_a", "role": "assistant", "time": {"created": 101_000}},
             "parts": [{"id": "prt_t", "type": "text", "text": "half a repl"},
                       {"id": "prt_tool", "type": "tool", "tool": "bash", "callID": "c",
                        "state": {"status": "running", "input": {}}},
                       {"id": "prt_kept", "type": "text", "text": "a part OpenCode finished"}]}]


def test_an_idle_session_with_an_open_reply_is_closed_with_its_reason() -> None:
    mapper = OpenCodeMapper()
    mapper.seed("ses", _open_reply_state())
    out = mapper.reconcile("ses", _opencode_kept(), None, [], interrupted="OpenCode crashed.",
                           idle_since=200.0)
    types = [t for _, t, _ in out]
    end = next(d for _, t, d in out if t == "message.end")
    assert end["message_id"] == "msg_a" and end["finish"] == "interrupted"
    assert end["error"] == {"name": "interrupted", "message": "Interrupted: OpenCode crashed."}
    tool = next(d["part"] for _, t, d in out if t == "tool.end")
    assert tool["id"] == "prt_tool" and tool["status"] == "error" and "OpenCode crashed" in tool["error"]
    assert ("permission.answered", None) in [(t, d.get("reply")) for _, t, d in out], \
        "the permission the dead run waited on is withdrawn"
    assert [d["part"]["text"] for _, t, d in out if t == "part.update"] == ["a part OpenCode finished"], \
        "what OpenCode finished is fetched"
    assert types[-1] == "session.status" and out[-1][2]["status"] == "idle"
    # A later reconcile neither reopens the tool nor ends the reply twice.
    again = mapper.reconcile("ses", _opencode_kept(), None, [], interrupted="again", idle_since=300.0)
    assert not [t for _, t, _ in again if t in ("message.end", "tool.update", "tool.start", "tool.end")]


def test_a_busy_session_keeps_its_reply_open() -> None:
    mapper = OpenCodeMapper()
    mapper.seed("ses", _open_reply_state())
    out = mapper.reconcile("ses", _opencode_kept(), {"type": "busy"}, [], interrupted="x", idle_since=200.0)
    assert "message.end" not in [t for _, t, _ in out]


def test_a_reply_begun_after_the_status_was_read_is_not_closed() -> None:
    mapper = OpenCodeMapper()
    mapper.seed("ses", _open_reply_state())
    out = mapper.reconcile("ses", _opencode_kept(), None, [], interrupted="x", idle_since=50.0)
    assert "message.end" not in [t for _, t, _ in out]


# ----- the real OpenCode ------------------------------------------------------------------------


def _follow(rt: Runtime, title: str):
    session = rt.chat.create(title=title)
    client = rt.chat.hub.client()
    rt.chat.follow(client, session["id"], None, None)
    assert client.get(timeout=5).type == "snapshot"
    return session, client


def _interrupted(e) -> bool:
    return e.type == "message.end" and (e.data.get("error") or {}).get("name") == "interrupted"


@pytest.mark.opencode
def test_kill_9_of_opencode_mid_reply_closes_it_as_interrupted(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    session, client = _follow(rt, "kill")
    rt.chat.prompt(session["id"], text="SLOW")
    collect(client, lambda e: e.type == "text.delta" and "word3 " in e.data["delta"])
    os.kill(rt.supervisor.pid, signal.SIGKILL)
    end = collect(client, _interrupted, timeout=30)[-1].data
    assert "OpenCode" in end["error"]["message"] and end["finish"] == "interrupted"
    collect(client, status_is("idle"), timeout=30)
    rt.chat.writer.flush(session["id"])
    stored = rt.chat.messages(session["id"])["messages"][-1]
    assert stored["role"] == "assistant" and stored["completed_at"] and stored["finish"] == "interrupted"
    assert stored["parts"][-1]["text"].startswith("word0 word1 word2 word3")


@pytest.mark.opencode
def test_a_tool_waiting_on_a_permission_ends_with_the_opencode_it_ran_in(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    session, client = _follow(rt, "perm")
    rt.chat.prompt(session["id"], text="TOOL:echo never-run")
    collect(client, lambda e: e.type == "permission.asked")
    old = rt.supervisor.pid
    os.kill(old, signal.SIGKILL)
    events = collect(client, _interrupted, timeout=30)
    tools = [e.data["part"] for e in events if e.type == "tool.end"]
    assert tools and tools[-1]["status"] == "error" and tools[-1]["error"].startswith("Interrupted:")
    assert any(e.type == "permission.answered" for e in events) or not rt.chat.transcript_state(
        session["id"])["permissions"], "no prompt is left to answer for a dead run"
    wait_for_opencode(rt, 40, not_pid=old)
    state = rt.chat.transcript_state(session["id"])
    tool = [p for m in state["messages"] for p in m["parts"] if p["kind"] == "tool"][-1]
    assert tool["status"] == "error", "the restarted OpenCode's stale 'running' does not reopen it"
    assert not state["permissions"]


@pytest.mark.opencode
def test_opencode_restarted_for_failed_health_checks_closes_the_reply(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    session, client = _follow(rt, "frozen")
    rt.chat.prompt(session["id"], text="SLOW")
    collect(client, lambda e: e.type == "text.delta" and "word3 " in e.data["delta"])
    rt.settings.update({"server.health_interval": 0.3, "server.health_timeout": 0.3, "server.health_failures": 2})
    pid = rt.supervisor.pid
    os.kill(pid, signal.SIGSTOP)  # frozen: no CPU, no answers; the supervisor must call it dead
    try:
        end = collect(client, _interrupted, timeout=60)[-1].data
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert "health" in end["error"]["message"]


@pytest.mark.opencode
def test_a_session_stuck_working_after_a_missed_end_is_caught_up(chat_runtime: Runtime, monkeypatch) -> None:
    import nexus.chat.engines.opencode as engine_module

    monkeypatch.setattr(engine_module, "STALE_CHECK", 0.0)
    rt = chat_runtime
    session, client = _follow(rt, "stuck")
    # What a missed end leaves: Nexus shows the session working, OpenCode has it idle, and a
    # reply is open.
    rt.chat.emit(session["id"], "session.status", {"status": "busy"})
    rt.chat.emit(session["id"], "message.start", {"message": {"id": "msg_lost", "role": "assistant",
                                                              "created_at": time.time() - 5}})
    rt.chat.engines["opencode"].mapper.seed(session["engine_ref"], rt.chat.transcript_state(session["id"]))
    # OpenCode's next heartbeat (every 10 s) notices and catches the session up.
    events = collect(client, status_is("idle"), timeout=40)
    end = next(e.data for e in events if e.type == "message.end")
    assert end["message_id"] == "msg_lost" and end["finish"] == "interrupted"
