"""The remote-shell policy, attacked: a stolen key (chat + approve, usable remotely) prompts the
agent through the tunnel to run a command and approves it. With remote shell commands off the
approval is refused (403 approve_locally) and nothing runs until the owner approves on this
computer; denying from the phone still works. Real OpenCode, real sockets."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2
import pytest

from nexus import websocket_client
from nexus.auth.remote_shell import approval_refused, runs_shell
from tests.auth_helpers import remember
from tests.chat_helpers import wait_for_opencode
from tests.wait_helpers import wait_until

TUNNEL = {"Cf-Connecting-Ip": "203.0.113.9"}


@pytest.fixture
def live_policy(opencode_settings: dict, no_leftover_processes, make_runtime, serve_runtime):
    rt = make_runtime(opencode_settings, **{"server.autostart": True})
    server = serve_runtime(rt)
    rt.start()
    wait_for_opencode(rt)
    _, key = rt.auth.create_key("phone script", scopes=["chat", "approve"], remote=True)
    with httpx2.Client(base_url=server.url, timeout=10, trust_env=False,
                       headers={**TUNNEL, "Authorization": f"Bearer {remember(key)}"}) as remote, \
            httpx2.Client(base_url=server.url, timeout=10, trust_env=False) as local:
        local.headers["X-CSRF-Token"] = local.get("/api/auth/session").json()["csrf_token"]
        yield server, rt, remote, local


def _events(url: str, sid: str) -> websocket_client.Client:
    ws = websocket_client.connect(url.replace("http://", "ws://") + "/api/chat/stream")
    json.loads(ws.receive(timeout=5))  # hello
    ws.send(json.dumps({"op": "follow", "session": sid}))
    return ws


def _until(ws: websocket_client.Client, kind: str, timeout: float = 45) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = ws.receive(timeout=0.5)
        if raw is None:
            continue
        data = json.loads(raw)
        for message in data if isinstance(data, list) else [data]:
            if message["type"] == kind:
                return message["data"]
    raise AssertionError(f"no {kind} within {timeout} s")


@pytest.mark.opencode
def test_remote_approval_of_a_shell_command_is_refused_while_the_policy_is_off(live_policy) -> None:
    server, rt, remote, local = live_policy
    assert rt.settings["terminal.remote_enabled"] is False
    sid = remote.post("/api/sessions", json={"title": "from the phone"}).json()["id"]
    ws = _events(server.url, sid)
    try:
        assert remote.post(f"/api/sessions/{sid}/prompt", json={"text": "TOOL:echo via-remote"}).status_code == 202
        asked = _until(ws, "permission.asked")["permission"]
        assert asked["tool"] == "bash"
        for reply in ("once", "always"):
            res = remote.post(f"/api/sessions/{sid}/permissions/{asked['id']}", json={"reply": reply})
            assert res.status_code == 403, res.text
            assert res.json()["error"]["code"] == "approve_locally"
            assert "Approve this on the computer" in res.json()["error"]["message"]
        # Still waiting: the refusal answered nothing. The owner approves on this computer...
        assert local.get(f"/api/sessions/{sid}").json()["status"] == "waiting"
        assert local.post(f"/api/sessions/{sid}/permissions/{asked['id']}", json={"reply": "once"}).status_code == 200
        # ...and only then the command runs.
        done = _until(ws, "tool.end")
        assert done["part"]["output"].strip() == "via-remote"
        _until(ws, "message.end")

        # The phone can always deny.
        wait_until(lambda: local.get(f"/api/sessions/{sid}").json()["status"] == "idle", 30, "the session idle")
        assert remote.post(f"/api/sessions/{sid}/prompt", json={"text": "TOOL:echo denied"}).status_code == 202
        asked = _until(ws, "permission.asked")["permission"]
        res = remote.post(f"/api/sessions/{sid}/permissions/{asked['id']}", json={"reply": "reject"})
        assert res.status_code == 200, res.text
        answered = _until(ws, "permission.answered")
        assert answered["reply"] == "reject"

        # The owner allows shell commands from remote devices: the same approval now works.
        wait_until(lambda: local.get(f"/api/sessions/{sid}").json()["status"] == "idle", 30, "the session idle")
        rt.settings.update({"terminal.remote_enabled": True})
        assert remote.post(f"/api/sessions/{sid}/prompt", json={"text": "TOOL:echo allowed-remote"}).status_code == 202
        asked = _until(ws, "permission.asked")["permission"]
        assert remote.post(f"/api/sessions/{sid}/permissions/{asked['id']}", json={"reply": "once"}).status_code == 200
        assert _until(ws, "tool.end")["part"]["output"].strip() == "allowed-remote"
    finally:
        ws.close()


def test_the_policy_covers_both_engines_permission_kinds() -> None:
    class Settings(dict):
        pass

    off = Settings({"terminal.remote_enabled": False})
    on = Settings({"terminal.remote_enabled": True})
    # OpenCode names permissions bash, edit, external_directory...; the Anthropic engine bash, write, edit.
    for tool in ("bash", "edit", "write", "external_directory", "task", "something-new", None):
        permission = {"id": "per_1", "tool": tool}
        assert runs_shell(permission), tool
        assert approval_refused(off, "tunnel", permission, "once")
        assert approval_refused(off, "tunnel", permission, "always")
        assert not approval_refused(off, "tunnel", permission, "reject"), "denying is always allowed"
        assert not approval_refused(off, "local", permission, "once"), "this computer decides"
        assert not approval_refused(on, "tunnel", permission, "once"), "the owner allowed it"
    for tool in ("read", "webfetch", "question"):
        assert not approval_refused(off, "tunnel", {"id": "per_2", "tool": tool}, "once"), tool
