"""The first run, attacked by another program on this computer: until an owner exists nothing
answers without the setup token `nexus serve` prints (as Jupyter's), over real sockets."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
import simple_websocket

from nexus import websocket_client
from nexus.runtime import Runtime
from tests.auth_helpers import PASSWORD, cookie_header, open_with_setup_token, remember

pytestmark = pytest.mark.fresh_install

SESSION = "ses_firstrun"


@pytest.fixture
def live_new_install(tmp_path: Path, no_leftover_processes, monkeypatch: pytest.MonkeyPatch, make_runtime,
                     serve_runtime) -> tuple[str, Runtime]:
    """A new install served on a free loopback port: setup not done, no owner."""
    monkeypatch.setenv("SHELL", "/bin/sh")
    monkeypatch.setenv("HOME", str(tmp_path))
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    rt = make_runtime({"server.autostart": False, "server.workspace": str(workspace)}, owner=False)
    rt.chat.repo.create_session({"id": SESSION, "engine": "opencode", "engine_ref": "ses_x", "title": "W"})
    server = serve_runtime(rt)
    rt.start()
    return server.url, rt


def _run_command(url: str, headers: dict[str, str] | None = None) -> str:
    """What a local program gets from the run-command WebSocket: the output, or why it was refused."""
    try:
        ws = websocket_client.connect(url.replace("http://", "ws://") + f"/api/sessions/{SESSION}/run",
                                             headers=headers)
    except (simple_websocket.ConnectionError, ConnectionError) as exc:  # the handshake got an HTTP error
        return f"refused: {exc}"
    output = ""
    try:
        ws.send(json.dumps({"op": "run", "command": "id -u; echo ran-it"}))
        while True:
            frame = json.loads(ws.receive(timeout=20))
            if frame["type"] == "output":
                output += frame["data"]
            elif frame["type"] in ("done", "refused"):
                return output or json.dumps(frame)
    except simple_websocket.ConnectionClosed:
        return output or "closed"
    finally:
        ws.close()


def test_a_local_program_without_the_token_gets_nothing(live_new_install) -> None:
    url, rt = live_new_install
    with httpx2.Client(base_url=url, timeout=10, trust_env=False) as http:
        # The run-command WebSocket: no shell for anybody without the token.
        assert "ran-it" not in _run_command(url)
        # Sessions, settings, terminals, the wizard: all 401 with a clear reason.
        attempts = [http.post("/api/sessions", json={"title": "x"}),
                    http.get("/api/settings"),
                    http.patch("/api/settings", json={"security.require_login_locally": False}),
                    http.post(f"/api/sessions/{SESSION}/terminals", json={}),
                    http.get("/api/setup"),
                    http.post("/api/setup/welcome", json={}),
                    http.post("/api/setup/password", json={"username": "mallory", "password": PASSWORD}),
                    http.post("/api/setup/done", json={}),
                    http.get("/api/auth/session"),
                    http.post("/api/auth/login", json={"username": "mallory", "password": PASSWORD})]
        for res in attempts:
            assert res.status_code == 401, (res.request.url, res.text)
            assert res.json()["error"]["code"] == "setup_token_required"
        # A wrong token is no better, and pages say where to find the right one.
        wrong = http.get("/api/settings", params={"token": "guessed-token-000000"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "bad_setup_token"
        page = http.get("/setup", headers={"Accept": "text/html"})
        assert page.status_code == 401 and "?token=" in page.text and "nexus serve" in page.text
        # Only liveness and the pages' static files answer.
        assert http.get("/healthz").json() == {"ok": True}
        assert http.get("/static/css/app.css").status_code == 200
    assert not rt.auth.has_owner(), "nobody became the owner"
    assert rt.chat.repo.count_active() == 1, "no session was created"
    assert rt.settings["security.require_login_locally"] is True and rt.setup.step == "welcome"


def test_the_printed_token_opens_the_wizard_and_ends_with_the_owner(live_new_install) -> None:
    url, rt = live_new_install
    token = remember(rt.auth.setup_token())
    with httpx2.Client(base_url=url, timeout=10, trust_env=False) as http:
        # The address `nexus serve` prints: the token is swapped for a cookie and leaves the address bar.
        res = http.get("/", params={"token": token}, headers={"Accept": "text/html"})
        assert res.status_code == 303 and res.headers["Location"] == "/"
        assert "token=" not in res.headers["Location"]
        assert http.get("/", headers={"Accept": "text/html"}).headers["Location"] == "/setup"
        http.headers["X-CSRF-Token"] = http.get("/api/auth/session").json()["csrf_token"]
        # With it, this computer's shell works (the first-run user is the owner-to-be).
        assert "ran-it" in _run_command(url, cookie_header(http))
        # Through the tunnel the token is worth nothing.
        tunnel = http.get("/api/settings", params={"token": token}, headers={"Cf-Connecting-Ip": "203.0.113.9"})
        assert tunnel.status_code in (401, 403)
        for step, body in (("welcome", {}), ("system", {}), ("server", {"autostart": False})):
            assert http.post(f"/api/setup/{step}", json=body).status_code == 200, step
        res = http.post("/api/setup/password", json={"username": "owner", "password": PASSWORD, "confirm": PASSWORD})
        assert res.status_code == 200, res.text
        http.headers["X-CSRF-Token"] = res.json()["csrf_token"]
        assert rt.auth.has_owner()
        assert rt.auth.setup_token() is None, "the token ends with the first run"
        assert http.post("/api/setup/tunnel", json={"mode": "off"}).status_code == 200
        assert http.post("/api/setup/done", json={}).json()["completed"] is True
    # Anybody else holding the old token (a copy of the terminal's scrollback) gets nothing now.
    with httpx2.Client(base_url=url, timeout=10, trust_env=False) as other:
        res = other.get("/api/settings", params={"token": token})
        assert res.status_code == 401 and res.json()["error"]["code"] == "login_required"


def test_the_desktop_window_needs_no_printed_token(live_new_install) -> None:
    url, rt = live_new_install
    with httpx2.Client(base_url=url, timeout=10, trust_env=False) as http:
        # The launcher hands the window a one-time token of its own (nexus/desktop/app.py).
        res = http.get("/auth/desktop", params={"token": rt.auth.issue_desktop_token(), "next": "/"})
        assert res.status_code == 303
        assert http.get("/api/setup").json()["step"] == "welcome"


def test_setup_token_helper_signs_a_script_in(live_new_install) -> None:
    url, rt = live_new_install
    with httpx2.Client(base_url=url, timeout=10, trust_env=False) as http:
        open_with_setup_token(http, remember(rt.auth.setup_token()))
        assert http.get("/api/settings").status_code == 200
        assert http.patch("/api/settings", json={"general.theme": "dark"}).status_code == 200
    assert rt.settings["general.theme"] == "dark"
