"""The OpenCode engine end to end: the real OpenCode server, the project's fake model
provider, the real store. Every scenario reads the normalized events a browser would get."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from nexus.chat.service import ChatError
from nexus.runtime import Runtime
from tests.chat_helpers import collect, ended, status_is, text_of, wait_for_opencode
from tests.postgres_server import on_postgres

pytestmark = pytest.mark.opencode
DATABASES = ("sqlite", "postgres")


def open_session(rt: Runtime, title: str = "test"):
    session = rt.chat.create(title=title)
    client = rt.chat.hub.client()
    rt.chat.follow(client, session["id"], None, None)
    first = client.get(timeout=2)
    assert first is not None and first.type == "snapshot"
    return session, client


def test_plain_reply_streams_and_is_stored(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    session, client = open_session(rt)
    rt.chat.prompt(session["id"], text="ping")
    events = collect(client, ended())
    types = [e.type for e in events]
    assert "message.start" in types and "usage" in types
    assert text_of(events) == "Hello from fake LLM. You said: ping"
    # Streamed as deltas, not only as the final part: how many depends on how OpenCode batched
    # its writes (deltas that reach Nexus in one read are merged, tests/test_relay_merge.py).
    assert any(e.type == "text.delta" for e in events), "streamed as deltas"
    seqs = [e.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "numbered without gaps"
    collect(client, status_is("idle"))

    stored = rt.chat.messages(session["id"])["messages"]
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[0]["parts"][0]["text"] == "ping"
    assert stored[1]["parts"][-1]["text"] == "Hello from fake LLM. You said: ping"
    tokens = stored[1]["tokens"]
    assert tokens["input"] > 0 and tokens["output"] > 0
    assert rt.chat.get(session["id"])["tokens"] == tokens
    assert [h["session_id"] for h in rt.chat.search("ping")] == [session["id"]]


def test_a_session_without_a_title_is_named_by_opencode(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    session = rt.chat.create()
    assert session["title"] == "New session"
    client = rt.chat.hub.client()
    rt.chat.follow(client, session["id"], None, None)
    rt.chat.prompt(session["id"], text="name me")
    renamed = collect(client, lambda e: e.type == "session.updated" and e.data["session"].get("title"))
    assert renamed[-1].data["session"]["title"] == "Fake title"  # what the fake model answers title requests
    collect(client, ended())
    rt.chat.writer.flush(session["id"])
    assert rt.chat.repo.get_session(session["id"])["title"] == "Fake title"


def test_reasoning_is_its_own_part(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    session, client = open_session(rt)
    rt.chat.prompt(session["id"], text="THINK")
    events = collect(client, ended())
    assert text_of(events, "reasoning").strip() == "Let me think about this carefully."
    assert text_of(events).strip() == "The answer is 42."


def test_tool_call_with_permission_allowed_then_denied(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    session, client = open_session(rt)
    rt.chat.prompt(session["id"], text="TOOL:echo allowed-run")
    events = collect(client, lambda e: e.type == "permission.asked")
    permission = events[-1].data["permission"]
    assert permission["tool"] == "bash" and "echo allowed-run" in permission["title"]
    assert any(e.type == "tool.start" and e.data["part"]["tool"] == "bash" for e in events)
    waiting = collect(client, status_is("waiting"), timeout=5)
    assert waiting
    assert rt.chat.get(session["id"])["status"] == "waiting"
    rt.chat.reply_permission(session["id"], permission["id"], "once")
    events = collect(client, ended())
    tool_end = next(e for e in events if e.type == "tool.end")
    assert tool_end.data["part"]["status"] == "completed"
    assert tool_end.data["part"]["output"].strip() == "allowed-run"
    assert any(e.type == "permission.answered" for e in events)
    assert text_of(events).startswith("Tool said: allowed-run")
    collect(client, status_is("idle"))

    rt.chat.prompt(session["id"], text="TOOL:echo denied-run")
    permission = collect(client, lambda e: e.type == "permission.asked")[-1].data["permission"]
    rt.chat.reply_permission(session["id"], permission["id"], "reject", "not now")
    events = collect(client, lambda e: e.type == "tool.end")
    part = events[-1].data["part"]
    assert part["status"] == "error" and "not now" in part["error"]
    collect(client, status_is("idle"))
    with pytest.raises(ChatError, match="not pending"):
        rt.chat.reply_permission(session["id"], permission["id"], "once")


def test_abort_mid_stream_keeps_partial_text(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    session, client = open_session(rt)
    rt.chat.prompt(session["id"], text="SLOW")
    events = collect(client, lambda e: e.type == "text.delta" and "word5 " in e.data["delta"])
    # A message sent meanwhile is queued, not a second prompt (tests/test_prompt_queue.py); cancelled here.
    queued = rt.chat.prompt(session["id"], text="again")
    assert queued["queued"] is True
    rt.chat.cancel_queued(session["id"], queued["id"])
    rt.chat.abort(session["id"])
    events += collect(client, lambda e: e.type == "message.end")
    end = events[-1].data
    assert end["error"]["name"] == "aborted"
    if not any(status_is("idle")(e) for e in events):  # OpenCode may report idle before the message's end
        collect(client, status_is("idle"))
    stored = rt.chat.messages(session["id"])["messages"][-1]
    assert stored["error"]["name"] == "aborted"
    assert stored["parts"][-1]["text"].startswith("word0 word1 word2 word3 word4 word5")


def test_provider_failure_shows_retry_then_abort_ends_it(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    session, client = open_session(rt)
    rt.chat.prompt(session["id"], text="FAIL")
    retry = collect(client, status_is("retry"))[-1].data
    assert retry["attempt"] >= 1 and retry["next_at"] > time.time() - 1
    assert "fake failure" in retry["message"]
    rt.chat.abort(session["id"])
    collect(client, status_is("idle"))


def test_kill_9_mid_reply_then_restart_keeps_the_session(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    session, client = open_session(rt)
    rt.chat.prompt(session["id"], text="first question")
    collect(client, ended())
    collect(client, status_is("idle"))
    rt.chat.prompt(session["id"], text="SLOW")
    collect(client, lambda e: e.type == "text.delta" and "word3 " in e.data["delta"])
    old_pid = rt.supervisor.pid
    os.kill(old_pid, signal.SIGKILL)
    wait_for_opencode(rt, 40, not_pid=old_pid)
    # Reconciling marks the interrupted run idle; the history is intact, and the session works.
    collect(client, status_is("idle"))
    rt.chat.prompt(session["id"], text="after the crash")
    events = collect(client, ended())
    assert text_of(events) == "Hello from fake LLM. You said: after the crash"
    texts = [p.get("text") for m in rt.chat.messages(session["id"])["messages"] for p in m["parts"]
             if p["kind"] == "text"]
    assert texts[:2] == ["first question", "Hello from fake LLM. You said: first question"]
    assert "SLOW" in texts and "after the crash" in texts


def test_transcript_survives_a_restart_of_nexus(tmp_path: Path, opencode_settings: dict, chat_runtime: Runtime, make_runtime) -> None:
    rt = chat_runtime
    session, client = open_session(rt)
    rt.chat.prompt(session["id"], text="remember me")
    collect(client, ended())
    data_dir = rt.data_dir
    rt.stop()
    again = make_runtime(data_dir=data_dir)
    try:
        again.settings.update({"server.autostart": False})
        messages = again.chat.messages(session["id"])["messages"]
        assert [p["text"] for m in messages for p in m["parts"] if p["kind"] == "text"] == [
            "remember me", "Hello from fake LLM. You said: remember me"]
        late = again.chat.hub.client()
        again.chat.follow(late, session["id"], 3, "an-old-epoch")
        snapshot = late.get(timeout=2)
        assert snapshot.type == "snapshot" and len(snapshot.data["messages"]) == 2
    finally:
        again.stop()


@on_postgres
def test_opencode_never_sees_the_store_url(chat_runtime: Runtime, database_url: str) -> None:
    """NEXUS_DATABASE_URL may carry the database password: OpenCode (and so the agent's shell)
    must not inherit it."""
    import psutil

    environ = psutil.Process(chat_runtime.supervisor.pid).environ()
    assert "NEXUS_DATABASE_URL" not in environ
    assert "NEXUS_HOME" in environ  # the environment was read, and is Nexus's own otherwise


def test_models_agents_and_limits(chat_runtime: Runtime) -> None:
    rt = chat_runtime
    assert [m["id"] for m in rt.chat.models()] == ["fake/fake-model"]
    assert "build" in [a["name"] for a in rt.chat.agents()]
    sessions = [rt.chat.create(title=f"s{i}") for i in range(10)]
    with pytest.raises(ChatError, match="10 sessions are open"):
        rt.chat.create(title="eleventh")
    rt.chat.archive(sessions[0]["id"])
    rt.chat.create(title="now it fits")
