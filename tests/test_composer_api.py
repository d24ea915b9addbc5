"""What the composer drives, against the real OpenCode and the fake model provider: slash
commands (built-in and the project's own), @ mentions of project files and agents, the model
and agent per message (remembered for the session), and compaction."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from nexus.runtime import Runtime
from tests.chat_helpers import collect, ended, status_is, text_of, wait_for_opencode
from tests.conftest import _rg_dir, as_server_env
from tests.fakes.fake_llm import MODEL_ID, opencode_config, opencode_env

pytestmark = pytest.mark.opencode

SECOND_MODEL = "fake-model-small"


@pytest.fixture
def live_composer(tmp_path: Path, opencode_bin: str, fake_llm, no_leftover_processes, make_runtime, serve_runtime):
    workspace = tmp_path / "workspace"
    (workspace / ".opencode" / "command").mkdir(parents=True)
    (workspace / ".opencode" / "command" / "greet.md").write_text(
        "---\ndescription: Greet someone by name\n---\nPlease greet $ARGUMENTS warmly.\n")
    (workspace / "notes.txt").write_text("the launch code is 4242\n")
    (tmp_path / "secret.txt").write_text("outside the project\n")
    config = opencode_config(fake_llm.base_url)
    config["provider"]["fake"]["models"][SECOND_MODEL] = {"name": "Fake Small", "tool_call": True,
                                                          "limit": {"context": 32000, "output": 1024}}
    env = opencode_env(fake_llm.base_url, str(tmp_path / "opencode-state"), _rg_dir(), config=config)
    rt = make_runtime({"server.binary": opencode_bin, "server.env": as_server_env(env), "server.workspace": str(workspace),
                       "server.autostart": True})
    server = serve_runtime(rt)
    rt.start()
    wait_for_opencode(rt)
    with httpx2.Client(base_url=server.url, timeout=20, trust_env=False) as http:
        yield rt, http, fake_llm


def follow(rt: Runtime, title: str = "composer"):
    session = rt.chat.create(title=title)
    client = rt.chat.hub.client()
    rt.chat.follow(client, session["id"], None, None)
    return session["id"], client


def test_slash_commands_are_listed_and_run_and_unknown_ones_refused(live_composer) -> None:
    rt, http, _ = live_composer
    sid, client = follow(rt)
    commands = {c["name"]: c for c in http.get(f"/api/sessions/{sid}/commands").json()["commands"]}
    assert "init" in commands and commands["init"]["description"], "a built-in command, described"
    assert commands["greet"]["description"] == "Greet someone by name", "the project's own command"

    missing = http.post(f"/api/sessions/{sid}/commands/nope", json={"arguments": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_command"
    assert rt.chat.messages(sid)["messages"] == [], "nothing was sent"

    ran = http.post(f"/api/sessions/{sid}/commands/greet", json={"arguments": "Ada Lovelace"})
    assert ran.status_code == 202 and ran.json()["queued"] is False
    events = collect(client, ended())
    assert "Please greet Ada Lovelace warmly." in text_of(events)
    collect(client, status_is("idle"))


def test_mentions_send_project_files_and_refuse_others(live_composer) -> None:
    rt, http, fake = live_composer
    sid, client = follow(rt)
    assert http.get(f"/api/sessions/{sid}/mentions", params={"q": "note"}).json() == {"files": ["notes.txt"],
                                                                                       "agents": []}
    agents = http.get(f"/api/sessions/{sid}/mentions", params={"q": "gen"}).json()["agents"]
    assert [a["name"] for a in agents] == ["general"], "OpenCode's sub-agent"
    for path, code in (("../secret.txt", "outside_project"), (str(Path(rt.settings["server.workspace"]).parent
                                                                  / "secret.txt"), "outside_project"),
                       ("missing.txt", "no_such_file")):
        response = http.post(f"/api/sessions/{sid}/prompt",
                             json={"text": "look", "mentions": [{"type": "file", "path": path}]})
        assert response.status_code == 400 and response.json()["error"]["code"] == code, path
    assert rt.chat.messages(sid)["messages"] == [], "nothing was sent"

    before = len(fake.requests)
    sent = http.post(f"/api/sessions/{sid}/prompt",
                     json={"text": "what does @notes.txt say?", "mentions": [{"type": "file", "path": "notes.txt"}]})
    assert sent.status_code == 202
    collect(client, ended())
    collect(client, status_is("idle"))
    bodies = json.dumps(fake.requests[before:])
    assert "the launch code is 4242" in bodies, "OpenCode read the mentioned file into the conversation"
    user = rt.chat.messages(sid)["messages"][0]
    files = [p for p in user["parts"] if p["kind"] == "file"]
    assert files and files[0]["filename"] == "notes.txt"

    # An agent mention hands the work to that sub-agent: OpenCode adds its instruction to the message.
    before = len(fake.requests)
    http.post(f"/api/sessions/{sid}/prompt", json={"text": "ask @general", "mentions": [{"type": "agent",
                                                                                         "name": "general"}]})
    collect(client, ended())
    collect(client, status_is("idle"))
    assert "call the task tool" in json.dumps(fake.requests[before:])


def test_model_per_message_is_remembered_and_compaction_shows(live_composer) -> None:
    rt, http, _ = live_composer
    sid, client = follow(rt)
    models = {m["id"]: m for m in http.get("/api/models").json()["models"]}
    assert models[f"fake/{SECOND_MODEL}"]["context"] == 32000 and models[f"fake/{MODEL_ID}"]["context"] == 100000
    bad = http.post(f"/api/sessions/{sid}/prompt", json={"text": "x", "model": ""})
    assert bad.status_code == 400

    http.post(f"/api/sessions/{sid}/prompt", json={"text": "first", "model": f"fake/{SECOND_MODEL}"})
    collect(client, ended())
    collect(client, status_is("idle"))
    assert http.get(f"/api/sessions/{sid}").json()["model"] == f"fake/{SECOND_MODEL}", "remembered"
    http.post(f"/api/sessions/{sid}/prompt", json={"text": "second"})
    collect(client, ended())
    collect(client, status_is("idle"))
    replies = [m for m in rt.chat.messages(sid)["messages"] if m["role"] == "assistant"]
    assert [m["model"] for m in replies] == [f"fake/{SECOND_MODEL}"] * 2

    assert http.post(f"/api/sessions/{sid}/compact").status_code == 202
    events = collect(client, lambda e: e.type == "part.update" and e.data["part"]["kind"] == "compaction",
                     timeout=60)
    assert events[-1].data["part"]["auto"] is False
    collect(client, ended(finish=None), timeout=60)
    collect(client, status_is("idle"), timeout=60)
    stored = [p["kind"] for m in rt.chat.messages(sid)["messages"] for p in m["parts"]]
    assert "compaction" in stored
