"""Security changes need the owner, present; API keys carry scopes. Written as the attacks:
a stolen key (even an admin one, through the tunnel) trying to switch protection off, a
browser session left open trying the same, loader injection through server.env."""

from __future__ import annotations

import time

import pytest

from tests.auth_helpers import OWNER, PASSWORD, login, make_owner, remember

TUNNEL = {"Cf-Connecting-Ip": "203.0.113.9"}

# What the review did with one PATCH through the tunnel, and more of the same kind.
SWITCH_PROTECTION_OFF = [
    {"security.require_login_locally": False},
    {"security.lockout_failures": 100, "security.login_rate_per_minute": 1000},
    {"security.argon2_time_cost": 1, "security.argon2_memory_kib": 8},
    {"server.protect": False},
    {"server.env": {"LD_PRELOAD": "/tmp/evil.so"}},
    {"server.binary": "/tmp/evil"},
    {"server.url": "http://127.0.0.1:1"},
    {"terminal.remote_enabled": True},
    {"tunnel.mode": "quick"},
]


@pytest.fixture
def owner(runtime):
    make_owner(runtime)
    return runtime


def _key(app, scopes: list[str], remote: bool = False) -> dict[str, str]:
    browser = app.test_client()
    csrf = login(browser)
    res = browser.post("/api/auth/keys", json={"name": "script", "scopes": scopes, "remote": remote},
                       headers={"X-CSRF-Token": csrf})
    assert res.status_code == 201, res.json
    return {"Authorization": f"Bearer {remember(res.json['key'])}"}


def test_an_admin_key_through_the_tunnel_cannot_switch_protection_off(owner, app) -> None:
    bearer = _key(app, ["read", "chat", "approve", "admin"], remote=True)
    before = owner.settings.all()
    script = app.test_client()
    for where in ({}, TUNNEL):
        for change in SWITCH_PROTECTION_OFF:
            res = script.patch("/api/settings", json=change, headers={**bearer, **where})
            assert res.status_code == 403, (change, res.json)
            assert res.json["error"]["code"] == "needs_session"
        res = script.post("/api/settings/reset", json={"keys": ["security.lockout_failures"]},
                          headers={**bearer, **where})
        assert res.status_code == 403
        for method, path, body in (("POST", "/api/auth/keys", {"name": "more", "scopes": ["admin"]}),
                                   ("DELETE", "/api/auth/keys/1", None),
                                   ("PUT", "/api/tunnel/token", {"token": "x" * 40}),
                                   ("POST", "/api/setup/restart", {})):
            res = script.open(path, method=method, json=body, headers={**bearer, **where})
            assert res.status_code == 403 and res.json["error"]["code"] == "needs_session", (method, path)
    assert owner.settings.all() == before, "nothing changed"
    # What admin keys are for still works: settings other than security ones.
    assert script.patch("/api/settings", json={"restart.max_attempts": 4}, headers=bearer).status_code == 200


def test_a_session_left_open_must_confirm_the_password_for_security_changes(owner, app) -> None:
    clock = [time.time()]
    owner.auth._clock = lambda: clock[0]
    browser = app.test_client()
    csrf = login(browser, **TUNNEL)
    h = {"X-CSRF-Token": csrf, **TUNNEL}
    # Just signed in: the password was typed a moment ago.
    assert browser.patch("/api/settings", json={"security.session_idle_minutes": 60}, headers=h).status_code == 200
    clock[0] += 11 * 60  # the phone lies on a table; somebody else picks it up
    for change in SWITCH_PROTECTION_OFF:
        res = browser.patch("/api/settings", json=change, headers=h)
        assert res.status_code == 403, change
        assert res.json["error"]["code"] == "password_confirmation_required"
        assert "Confirm your password" in res.json["error"]["message"]
    res = browser.post("/api/auth/keys", json={"name": "mine", "scopes": ["admin"], "remote": True}, headers=h)
    assert res.status_code == 403 and res.json["error"]["code"] == "password_confirmation_required"
    # Guessing is a sign-in attempt like any other.
    wrong = browser.post("/api/auth/confirm", json={"password": "not-it-at-all"}, headers=h)
    assert wrong.status_code == 401
    assert browser.patch("/api/settings", json={"server.protect": False}, headers=h).status_code == 403
    # The owner types it: ten minutes of security changes.
    ok = browser.post("/api/auth/confirm", json={"password": PASSWORD}, headers=h)
    assert ok.status_code == 200 and ok.json["confirmed"] is True
    assert browser.patch("/api/settings", json={"security.session_idle_minutes": 90}, headers=h).status_code == 200
    assert browser.get("/api/auth/session", headers=TUNNEL).json["password_confirmed"] is True
    clock[0] += 10 * 60 + 1
    assert browser.patch("/api/settings", json={"security.session_idle_minutes": 120},
                         headers=h).status_code == 403
    assert owner.settings["security.session_idle_minutes"] == 90
    assert "password-confirmed" in [e["event"] for e in owner.audit.recent()]


def test_without_local_sign_in_confirming_signs_this_browser_in(runtime, client) -> None:
    # Preconfigured test runtimes: an owner who turned local sign-in off.
    assert client.get("/api/server").status_code == 200
    res = client.patch("/api/settings", json={"security.require_login_locally": True})
    assert res.status_code == 403 and res.json["error"]["code"] == "password_confirmation_required"
    ok = client.post("/api/auth/confirm", json={"password": PASSWORD})
    assert ok.status_code == 200
    client.environ_base["HTTP_X_CSRF_TOKEN"] = ok.json["csrf_token"]
    assert client.patch("/api/settings", json={"security.require_login_locally": True}).status_code == 200
    assert client.get("/api/auth/session").json["username"] == OWNER


@pytest.mark.parametrize("name", ["LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "NODE_OPTIONS",
                                  "BUN_INSTALL", "PYTHONSTARTUP", "PYTHONPATH", "PERL5OPT", "RUBYOPT", "BASH_ENV",
                                  "ENV", "ld_preload", "BASH_FUNC_ls%%"])
def test_server_env_refuses_loader_and_interpreter_injection(runtime, name: str) -> None:
    from nexus.settings import SettingsError

    with pytest.raises(SettingsError) as refused:
        runtime.settings.update({"server.env": {name: "x"}})
    message = refused.value.errors["server.env"]
    assert name in message or "not a valid" in message
    assert runtime.settings["server.env"] == {}


def test_server_env_refusal_is_a_clear_422_for_the_owner(runtime, client) -> None:
    ok = client.post("/api/auth/confirm", json={"password": PASSWORD})
    client.environ_base["HTTP_X_CSRF_TOKEN"] = ok.json["csrf_token"]
    res = client.patch("/api/settings", json={"server.env": {"NODE_OPTIONS": "--require /tmp/x.js"}})
    assert res.status_code == 422
    assert "NODE_OPTIONS is refused" in res.json["error"]["details"]["fields"]["server.env"]
    assert client.patch("/api/settings", json={"server.env": {"RUST_LOG": "debug"}}).status_code == 200


def test_key_scopes_decide_what_a_key_may_do(owner, app) -> None:
    script = app.test_client()
    read = _key(app, [])
    chat = _key(app, ["chat"])
    approve = _key(app, ["approve"], remote=True)
    admin = _key(app, ["admin"])
    prompt = ("/api/sessions/ses_none/prompt", {"text": "hi"})
    answer = ("/api/sessions/ses_none/permissions/per_1", {"reply": "once"})
    # Refused by scope (403 key_scope) or let through to the route (404: there is no such session).
    assert script.get("/api/sessions", headers=read).status_code == 200
    for bearer, path, body, allowed in ((read, *prompt, False), (chat, *prompt, True), (admin, *prompt, False),
                                        (chat, *answer, False), (approve, *answer, True), (admin, *answer, False),
                                        (read, "/api/server/stop", {}, False), (chat, "/api/server/stop", {}, False)):
        res = script.post(path, json=body, headers=bearer)
        if allowed:
            assert res.status_code != 403, (path, res.json)
        else:
            assert res.status_code == 403 and res.json["error"]["code"] == "key_scope", (path, res.json)
    assert script.patch("/api/settings", json={"general.theme": "dark"}, headers=read).status_code == 403
    assert script.patch("/api/settings", json={"general.theme": "dark"}, headers=admin).status_code == 200
    # Local-only keys (the default) are refused through the tunnel, whatever their scopes.
    res = script.get("/api/sessions", headers={**admin, **TUNNEL})
    assert res.status_code == 403 and res.json["error"]["code"] == "key_local_only"
    assert script.get("/api/sessions", headers={**approve, **TUNNEL}).status_code == 200
    # Unknown scopes are a clear 422.
    browser = app.test_client()
    csrf = login(browser)
    res = browser.post("/api/auth/keys", json={"name": "x", "scopes": ["root"]}, headers={"X-CSRF-Token": csrf})
    assert res.status_code == 422 and "root" in res.json["error"]["message"]
