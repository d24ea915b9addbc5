"""Undo, redo, fork, edit and resend; to-dos; sub-agent sessions; real diffs (issue 19
items 6, 7, 9): the real OpenCode server driven by the project's fake model provider."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nexus.chat.service import ChatError
from nexus.runtime import Runtime
from tests.chat_helpers import collect, ended, status_is, text_of, wait_for_opencode
from tests.wait_helpers import wait_until

pytestmark = pytest.mark.opencode

ORIGINAL = "alpha\nbeta\ngamma\n"


@pytest.fixture
def rt(tmp_path: Path, opencode_settings: dict, no_leftover_processes, make_runtime):
    workspace = Path(opencode_settings["server.workspace"])
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "notes.txt").write_text(ORIGINAL)
    # OpenCode snapshots files (for diffs and undo) only in a git project.
    git = ["git", "-C", str(workspace), "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "start"], check=True)
    runtime = make_runtime()
    runtime.settings.update({**opencode_settings, "server.autostart": True, "restart.initial_delay": 0.2})
    runtime.start()
    wait_for_opencode(runtime)
    yield runtime
    runtime.stop()


def _open(rt: Runtime, title: str = "parity"):
    session = rt.chat.create(title=title)
    client = rt.chat.hub.client()
    rt.chat.follow(client, session["id"], None, None)
    assert client.get(timeout=2).type == "snapshot"
    return session, client


def _turn(rt: Runtime, client, session_id: str, text: str):
    rt.chat.prompt(session_id, text=text)
    events = collect(client, ended(), timeout=60)
    events += collect(client, status_is("idle"), timeout=60)
    return events


def _messages(rt: Runtime, session_id: str) -> list[dict]:
    return rt.chat.messages(session_id)["messages"]


def _user_ids(rt: Runtime, session_id: str) -> list[str]:
    return [m["id"] for m in _messages(rt, session_id) if m["role"] == "user"]


def test_todo_list_is_an_event_kept_in_the_snapshot_and_the_store(rt: Runtime) -> None:
    session, client = _open(rt)
    rt.chat.prompt(session["id"], text="TODO:Write tests=completed|Fix bug=in_progress|Ship it")
    todo = collect(client, lambda e: e.type == "todo.updated", timeout=60)[-1]
    assert todo.data["todos"] == [
        {"content": "Write tests", "status": "completed", "priority": "medium"},
        {"content": "Fix bug", "status": "in_progress", "priority": "medium"},
        {"content": "Ship it", "status": "pending", "priority": "medium"}]
    collect(client, status_is("idle"), timeout=60)
    assert rt.chat.history.todos(session["id"]) == todo.data["todos"]
    snapshot = rt.chat.hub.stream(session["id"]).snapshot_event().data
    assert snapshot["session"]["todos"] == todo.data["todos"], "a reloaded page gets the list"
    rt.chat.writer.flush(session["id"])
    assert rt.chat.repo.get_session(session["id"])["todos"] == todo.data["todos"], "a restarted Nexus too"


def test_a_task_runs_a_sub_agent_session_kept_apart_from_its_parent(rt: Runtime) -> None:
    parent, client = _open(rt)
    active_before = rt.chat.repo.count_active()
    rt.chat.prompt(parent["id"], text="TASK:child work please")
    running = collect(client, lambda e: e.type in ("tool.start", "tool.update")
                      and e.data["part"]["tool"] == "task" and e.data["part"].get("child_session"), timeout=60)[-1]
    child_id = running.data["part"]["child_session"]
    assert running.data["part"]["status"] == "running", "the sub-agent's status shows while it runs"
    events = collect(client, lambda e: e.type == "tool.end" and e.data["part"]["tool"] == "task", timeout=60)
    assert events[-1].data["part"]["child_session"] == child_id
    collect(client, status_is("idle"), timeout=60)

    children = rt.chat.history.children(parent["id"])
    assert [c["id"] for c in children] == [child_id]
    assert children[0]["parent_id"] == parent["id"] and "general" in children[0]["title"]
    child_texts = wait_until(lambda: [p.get("text") for m in _messages(rt, child_id) for p in m["parts"]
                                 if p["kind"] == "text" and m["role"] == "assistant"],
                             what="the sub-agent's reply in its own transcript")
    assert child_texts == ["Hello from fake LLM. You said: child work please"]
    assert [p["text"] for m in _messages(rt, child_id) if m["role"] == "user" for p in m["parts"]] == \
        ["child work please"]
    # Nothing of the child landed in the parent, and the child is not a session of its own in lists.
    parent_ids = {m["id"] for m in _messages(rt, parent["id"])}
    assert parent_ids.isdisjoint({m["id"] for m in _messages(rt, child_id)})
    assert all(e.session_id == parent["id"] for e in events)
    listed, _ = rt.chat.list()
    assert child_id not in [s["id"] for s in listed]
    assert rt.chat.repo.count_active() == active_before


def test_an_overwrite_shows_its_real_diff_and_each_turn_its_changes(rt: Runtime) -> None:
    session, client = _open(rt)
    events = _turn(rt, client, session["id"], "OVERWRITE:notes.txt:alpha\\nBETA\\ngamma")
    user_id = _user_ids(rt, session["id"])[-1]
    diff_part = wait_until(lambda: next((p for m in _messages(rt, session["id"]) if m["id"] == user_id
                                    for p in m["parts"] if p["kind"] == "diff"), None),
                           what="the turn's diff part")
    [changed] = diff_part["files"]
    assert changed["file"] == "notes.txt" and changed["deletions"] >= 1 and changed["additions"] >= 1
    write = wait_until(lambda: next((p for m in _messages(rt, session["id"]) for p in m["parts"]
                                if p.get("tool") == "write" and (p.get("metadata") or {}).get("diff")), None),
                       what="the write's real diff")
    patch = write["metadata"]["diff"].splitlines()
    assert "-beta" in patch and "+BETA" in patch, "removed and added lines, not pure additions"
    assert any(e.type == "part.update" and e.data["part"]["kind"] == "diff" for e in events) or diff_part
    [from_opencode] = rt.chat.history.diff(session["id"], user_id)
    assert from_opencode["file"] == "notes.txt" and "+BETA" in from_opencode["patch"]


def test_undo_restores_the_file_redo_brings_it_back_and_the_next_prompt_drops_the_undone(rt: Runtime) -> None:
    notes = Path(rt.settings["server.workspace"]) / "notes.txt"
    session, client = _open(rt)
    _turn(rt, client, session["id"], "first question")
    _turn(rt, client, session["id"], "OVERWRITE:notes.txt:alpha\\nBETA\\ngamma")
    assert notes.read_text() == "alpha\nBETA\ngamma"
    first_user, write_user = _user_ids(rt, session["id"])
    stored_before = [m["id"] for m in _messages(rt, session["id"])]

    # A message of another session, or none at all: a clear 4xx, nothing changed.
    other, _ = _open(rt, "other")
    _turn(rt, client, session["id"], "keep going")
    other_client = rt.chat.hub.client()
    rt.chat.follow(other_client, other["id"], None, None)
    _turn(rt, other_client, other["id"], "in the other session")
    other_message = _user_ids(rt, other["id"])[0]
    for wrong in (other_message, "msg_nonexistent"):
        with pytest.raises(ChatError) as failure:
            rt.chat.history.revert(session["id"], wrong)
        assert failure.value.status == 404
    with pytest.raises(ChatError) as failure:
        rt.chat.history.unrevert(session["id"])
    assert failure.value.status == 409
    assert notes.read_text() == "alpha\nBETA\ngamma" and not rt.chat.get(session["id"]).get("revert")

    reverted = rt.chat.history.revert(session["id"], write_user)
    assert reverted["revert"]["message_id"] == write_user
    assert notes.read_text().rstrip("\n") == ORIGINAL.rstrip("\n"), "the file is restored"
    assert [m["id"] for m in _messages(rt, session["id"])][:len(stored_before)] == stored_before, \
        "undone messages stay (shown as undone) until the next prompt"
    rt.chat.writer.flush(session["id"])
    assert rt.chat.repo.get_session(session["id"])["revert"]["message_id"] == write_user

    redone = rt.chat.history.unrevert(session["id"])
    assert not redone.get("revert")
    assert notes.read_text() == "alpha\nBETA\ngamma", "redo brings the change back"

    rt.chat.history.revert(session["id"], write_user)
    rt.chat.prompt(session["id"], text="a new direction")
    removed = collect(client, lambda e: e.type == "message.removed" and e.data["message_id"] == write_user,
                      timeout=60)
    assert removed
    collect(client, ended(), timeout=60)
    collect(client, status_is("idle"), timeout=60)
    rt.chat.writer.flush(session["id"])
    kept = [m["id"] for m in _messages(rt, session["id"])]
    assert first_user in kept and write_user not in kept
    texts = [p["text"] for m in _messages(rt, session["id"]) if m["role"] == "user" for p in m["parts"]
             if p["kind"] == "text"]
    assert texts == ["first question", "a new direction"]
    assert notes.read_text().rstrip("\n") == ORIGINAL.rstrip("\n")
    assert not rt.chat.get(session["id"]).get("revert")


def test_fork_from_a_message_makes_a_new_session_with_the_conversation_before_it(rt: Runtime) -> None:
    session, client = _open(rt)
    _turn(rt, client, session["id"], "first question")
    _turn(rt, client, session["id"], "second question")
    second = _user_ids(rt, session["id"])[1]
    fork = rt.chat.history.fork(session["id"], second)
    assert fork["id"] != session["id"] and fork["state"] == "active" and not fork.get("parent_id")
    assert fork["id"] in [s["id"] for s in rt.chat.list()[0]], "a new card"
    texts = [p["text"] for m in _messages(rt, fork["id"]) for p in m["parts"] if p["kind"] == "text"]
    assert texts == ["first question", "Hello from fake LLM. You said: first question"]
    fork_client = rt.chat.hub.client()
    rt.chat.follow(fork_client, fork["id"], None, None)
    events = _turn(rt, fork_client, fork["id"], "on the fork")
    assert any(e.type == "text.delta" for e in events), "the fork is a live session"
    assert len(_user_ids(rt, session["id"])) == 2, "the original is unchanged"
    with pytest.raises(ChatError) as failure:
        rt.chat.history.fork(session["id"], _user_ids(rt, fork["id"])[-1])
    assert failure.value.status == 404


def test_edit_and_resend_the_last_message(rt: Runtime) -> None:
    session, client = _open(rt)
    with pytest.raises(ChatError) as failure:
        rt.chat.history.edit_last(session["id"], "nothing yet")
    assert failure.value.status == 409
    _turn(rt, client, session["id"], "first question")
    _turn(rt, client, session["id"], "second with a typo")
    rt.chat.history.edit_last(session["id"], "second, corrected")
    events = collect(client, ended(), timeout=60)
    collect(client, status_is("idle"), timeout=60)
    assert text_of(events) == "Hello from fake LLM. You said: second, corrected"
    assert sum(e.type == "message.removed" for e in events) == 2, "the typo and its reply are gone"
    rt.chat.writer.flush(session["id"])
    texts = [p["text"] for m in _messages(rt, session["id"]) for p in m["parts"] if p["kind"] == "text"]
    assert texts == ["first question", "Hello from fake LLM. You said: first question",
                     "second, corrected", "Hello from fake LLM. You said: second, corrected"]


def test_rest_routes_refuse_bad_input_clearly_and_change_nothing(rt: Runtime) -> None:
    from nexus.auth import csrf_for
    from nexus.ui import create_app

    http = create_app(rt, {"TESTING": True}).test_client()
    http.set_cookie("nexus_csrf_80", "test-anonymous-csrf-cookie")  # cookie names carry the port
    http.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_for("test-anonymous-csrf-cookie")
    session, client = _open(rt)
    other, other_client = _open(rt, "other")
    _turn(rt, client, session["id"], "mine")
    _turn(rt, other_client, other["id"], "theirs")
    mine, theirs = _user_ids(rt, session["id"])[0], _user_ids(rt, other["id"])[0]
    base = f"/api/sessions/{session['id']}"

    def refused(method: str, url: str, status: int, body: dict | None = None) -> dict:
        response = http.open(url, method=method, json=body)
        assert response.status_code == status, (url, response.get_json())
        error = response.get_json()["error"]
        assert error["status"] == status and error["message"]
        return error

    assert refused("POST", f"{base}/revert", 404, {"message_id": theirs})["code"] == "no_such_message"
    refused("POST", f"{base}/revert", 400, {})
    refused("POST", f"{base}/revert", 400, {"message_id": 7})
    refused("POST", f"{base}/unrevert", 409)
    refused("POST", f"{base}/fork", 404, {"message_id": theirs})
    refused("POST", f"{base}/edit", 400, {"text": ["not", "text"]})
    refused("POST", f"{base}/edit", 400, {"text": "   "})
    refused("GET", f"{base}/diff?message_id={theirs}", 404)
    refused("POST", "/api/sessions/s_nope/revert", 404, {"message_id": mine})
    refused("GET", "/api/sessions/s_nope/todos", 404)
    assert not rt.chat.get(session["id"]).get("revert")
    assert len(rt.chat.list()[0]) == 2, "no fork was made"
    assert [m["id"] for m in _messages(rt, session["id"])][0] == mine

    assert http.get(f"{base}/todos").get_json() == {"todos": []}
    assert http.get(f"{base}/children").get_json() == {"sessions": []}
    reverted = http.post(f"{base}/revert", json={"message_id": mine})
    assert reverted.status_code == 200 and reverted.get_json()["revert"]["message_id"] == mine
    assert http.post(f"{base}/unrevert").get_json()["revert"] is None
    forked = http.post(f"{base}/fork", json={})
    assert forked.status_code == 201 and forked.get_json()["id"] != session["id"]
