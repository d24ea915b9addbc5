"""The setup wizard over HTTP, as a new install sees it: every page leads to it, each step is
checked on the server, progress survives a restart, and it only runs from this computer."""

from __future__ import annotations

import pytest

from nexus.ui import create_app
from tests.auth_helpers import PASSWORD, TUNNEL_TOKEN, with_setup_token

pytestmark = pytest.mark.fresh_install


def test_every_page_leads_to_the_wizard_until_it_is_done(client, runtime) -> None:
    with_setup_token(client, runtime)
    for page in ("/", "/security"):
        res = client.get(page, headers={"Accept": "text/html"})
        assert res.status_code == 303 and res.headers["Location"] == "/setup"
    assert client.get("/setup").status_code == 200
    assert client.get("/api/setup").json["step"] == "welcome"


def test_wizard_is_local_only_before_it_is_done(client, runtime) -> None:
    tunnel = {"Cf-Connecting-Ip": "203.0.113.9"}
    res = client.post("/api/setup/welcome", json={}, headers=tunnel)
    assert res.status_code == 401 and res.json["error"]["code"] == "setup_token_required"
    res = client.get("/api/setup", headers=tunnel, query_string={"token": runtime.auth.setup_token()})
    assert res.status_code == 403 and res.json["error"]["code"] == "setup_local_only"


def test_steps_in_order_validated_and_resumable(tmp_path, make_runtime) -> None:
    rt = make_runtime()
    client = create_app(rt, {"TESTING": True}).test_client()
    csrf = client.get("/api/auth/session", query_string={"token": rt.auth.setup_token()}).json["csrf_token"]
    h = {"X-CSRF-Token": csrf}
    assert client.post("/api/setup/password", json={}, headers=h).status_code == 409
    assert client.post("/api/setup/welcome", json={}, headers=h).json["step"] == "system"
    state = client.post("/api/setup/system", json={}, headers=h).json
    assert state["step"] == "server"
    res = client.post("/api/setup/server", json={"binary": "/nonexistent/opencode", "workspace": "relative/dir"},
                      headers=h)
    assert res.status_code == 422
    assert set(res.json["error"]["details"]["fields"]) == {"binary", "workspace"}
    ws = tmp_path / "project"
    assert client.post("/api/setup/server", json={"workspace": str(ws), "autostart": False},
                       headers=h).json["step"] == "password"
    assert ws.is_dir() and rt.settings["server.workspace"] == str(ws)
    rt.stop()

    # A crash here: the next start resumes at the password step.
    rt = make_runtime()
    client = create_app(rt, {"TESTING": True}).test_client()
    csrf = client.get("/api/auth/session", query_string={"token": rt.auth.setup_token()}).json["csrf_token"]
    h = {"X-CSRF-Token": csrf}
    assert client.get("/api/setup").json["step"] == "password"
    weak = client.post("/api/setup/password", json={"username": "owner", "password": "password1"}, headers=h)
    assert weak.status_code == 422 and weak.json["error"]["code"] == "weak_password"
    res = client.post("/api/setup/password", json={"username": "owner", "password": PASSWORD, "confirm": PASSWORD},
                      headers=h)
    assert res.status_code == 200 and "nexus_session" in res.headers["Set-Cookie"], "signed in for the rest"
    h = {"X-CSRF-Token": res.json["csrf_token"]}
    res = client.post("/api/setup/tunnel", json={"mode": "named", "hostname": ""}, headers=h)
    assert res.status_code == 422 and {"hostname", "token"} <= set(res.json["error"]["details"]["fields"])
    res = client.post("/api/setup/tunnel", json={"mode": "named", "hostname": "nexus.example.test",
                                                  "token": TUNNEL_TOKEN, "protocol": "http2"}, headers=h)
    assert res.status_code == 200 and res.json["tunnel"]["has_token"] is True
    assert rt.secrets.get("tunnel.token") == TUNNEL_TOKEN
    assert TUNNEL_TOKEN not in str(rt.settings.all())
    assert client.post("/api/setup/done", json={}, headers=h).json["completed"] is True
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    # Re-run from Settings: the app stays usable and the password can be kept.
    assert client.post("/api/setup/restart", json={}, headers=h).json["step"] == "welcome"
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    rt.stop()
