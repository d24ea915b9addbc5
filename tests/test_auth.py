"""Sign-in: Argon2id, lockout, timing, sessions and their expiry, CSRF, API keys, the desktop
token, rate limits and the audit log (nexus/auth through the Flask layer)."""

from __future__ import annotations

import json
import time

import pytest

from nexus.auth import AuthError
from nexus.auth.passwords import password_strength
from tests.auth_helpers import NEW_PASSWORD, OWNER, PASSWORD, login, make_owner, remember

DATABASES = ("sqlite", "postgres")


@pytest.fixture
def owner(runtime):
    make_owner(runtime)
    return runtime


def events(rt) -> list[str]:
    return [e["event"] for e in rt.audit.recent()]


def test_password_is_stored_as_argon2id_with_its_parameters(owner) -> None:
    from nexus.auth.repository import AuthRepository

    record = AuthRepository(owner.db).owner()
    assert record.password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert record.hash_params == {"algorithm": "argon2id", "time_cost": 1, "memory_kib": 1024, "parallelism": 1}
    assert PASSWORD not in record.password_hash


def test_rehash_when_the_parameters_change(owner) -> None:
    from nexus.auth.repository import AuthRepository

    owner.settings.update({"security.argon2_time_cost": 2, "security.argon2_memory_kib": 2048})
    owner.auth.login(OWNER, PASSWORD, ip="127.0.0.1", via="local")
    record = AuthRepository(owner.db).owner()
    assert record.password_hash.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    assert record.hash_params["time_cost"] == 2
    owner.auth.login(OWNER, PASSWORD, ip="127.0.0.1", via="local")  # the new hash verifies


def test_weak_passwords_are_refused_with_advice() -> None:
    assert not password_strength("short").acceptable
    weak = password_strength("password123")
    assert not weak.acceptable and weak.warning
    assert password_strength(PASSWORD).acceptable


def test_lockout_after_the_configured_failures_and_correct_password_still_refused(owner) -> None:
    owner.settings.update({"security.lockout_failures": 3, "security.lockout_minutes": 10})
    for _ in range(2):
        with pytest.raises(AuthError) as info:
            owner.auth.login(OWNER, "wrong-password", ip="203.0.113.1", via="tunnel")
        assert info.value.status == 401
    with pytest.raises(AuthError):
        owner.auth.login(OWNER, "wrong-password", ip="203.0.113.1", via="tunnel")
    with pytest.raises(AuthError) as info:
        owner.auth.login(OWNER, PASSWORD, ip="203.0.113.1", via="tunnel")
    assert info.value.status == 423 and info.value.code == "locked"
    assert "10 minutes" in info.value.message
    assert 590 <= info.value.details["retry_after"] <= 601
    assert "lockout" in events(owner)


def test_lockout_ends_after_its_time_and_a_success_resets_the_count(owner) -> None:
    clock = [time.time()]
    owner.auth._clock = lambda: clock[0]
    owner.settings.update({"security.lockout_failures": 2, "security.lockout_minutes": 1})
    for _ in range(2):
        with pytest.raises(AuthError):
            owner.auth.login(OWNER, "nope-nope-nope", ip="x", via="local")
    assert owner.auth.lockout_remaining() == pytest.approx(60, abs=1)
    clock[0] += 61
    owner.auth.login(OWNER, PASSWORD, ip="x", via="local")
    with pytest.raises(AuthError) as info:
        owner.auth.login(OWNER, "nope-nope-nope", ip="x", via="local")
    assert info.value.status == 401, "one failure after a success is not a lockout"


def test_failures_outside_the_window_do_not_add_up(owner) -> None:
    clock = [time.time()]
    owner.auth._clock = lambda: clock[0]
    owner.settings.update({"security.lockout_failures": 2, "security.lockout_window_minutes": 1})
    with pytest.raises(AuthError):
        owner.auth.login(OWNER, "nope-nope-nope", ip="x", via="local")
    clock[0] += 120
    with pytest.raises(AuthError) as info:
        owner.auth.login(OWNER, "nope-nope-nope", ip="x", via="local")
    assert info.value.status == 401
    assert owner.auth.lockout_remaining() == 0


def test_wrong_user_and_wrong_password_take_the_same_time(owner, monkeypatch) -> None:
    # Not a wall-clock comparison (two medians drift apart on a loaded machine): the same
    # work, counted. Both paths run exactly one real Argon2 verification with the same cost
    # parameters against a hash of the same shape, so neither can return early.
    owner.settings.update({"security.argon2_memory_kib": 16384, "security.argon2_time_cost": 2,
                           "security.lockout_failures": 100, "security.login_rate_per_minute": 1000})
    owner.auth.set_owner(OWNER, PASSWORD, current_password=PASSWORD)
    import nexus.auth.service as service_module

    calls: list[tuple] = []
    real_verify = service_module.verify_password

    def counted(stored: str, password: str, params) -> bool:
        calls.append((params, stored.split("$")[1:4]))
        return real_verify(stored, password, params)

    monkeypatch.setattr(service_module, "verify_password", counted)

    def work(user: str) -> list[tuple]:
        calls.clear()
        with pytest.raises(AuthError) as info:
            owner.auth.login(user, "not-the-password", ip="x", via="local")
        assert info.value.status == 401
        return list(calls)

    wrong_user, wrong_password = work("somebody-else"), work(OWNER)
    assert len(wrong_user) == 1 and len(wrong_password) == 1, (wrong_user, wrong_password)
    assert wrong_user == wrong_password, "same parameters, same hash shape: the same Argon2 cost"


def test_login_rate_limit_per_address(owner) -> None:
    owner.settings.update({"security.login_rate_per_minute": 3, "security.lockout_failures": 100})
    for _ in range(3):
        with pytest.raises(AuthError):
            owner.auth.login(OWNER, "bad-bad-bad", ip="198.51.100.1", via="tunnel")
    with pytest.raises(AuthError) as info:
        owner.auth.login(OWNER, PASSWORD, ip="198.51.100.1", via="tunnel")
    assert info.value.status == 429
    owner.auth.login(OWNER, PASSWORD, ip="198.51.100.2", via="tunnel")  # another address is not limited


def test_sessions_expire_when_idle_and_absolutely(owner) -> None:
    clock = [time.time()]
    owner.auth._clock = lambda: clock[0]
    owner.settings.update({"security.session_idle_minutes": 30, "security.session_max_days": 1})
    session = owner.auth.login(OWNER, PASSWORD, ip="x", via="local")
    clock[0] += 29 * 60
    assert owner.auth.session(session.token) is not None  # and this use resets the idle clock
    clock[0] += 29 * 60
    assert owner.auth.session(session.token) is not None
    clock[0] += 31 * 60
    assert owner.auth.session(session.token) is None, "idle expiry"

    session = owner.auth.login(OWNER, PASSWORD, ip="x", via="local")
    for _ in range(50):  # used every 29 minutes, still ends after a day
        clock[0] += 29 * 60
        if owner.auth.session(session.token) is None:
            break
    assert clock[0] - session.record.created_at <= 86400 + 29 * 60


def test_http_login_cookie_flags_and_logout(owner, client) -> None:
    csrf = client.get("/api/auth/session").json["csrf_token"]
    res = client.post("/api/auth/login", json={"username": OWNER, "password": PASSWORD},
                      headers={"X-CSRF-Token": csrf})
    assert res.status_code == 200
    cookie = res.headers["Set-Cookie"]
    assert "nexus_session_80=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, "bound to the port"
    assert "Secure" not in cookie, "plain http on loopback"
    assert client.get("/api/server").status_code == 200
    new_csrf = res.json["csrf_token"]
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": new_csrf}).status_code == 200
    assert client.get("/api/server").status_code == 401


def test_cookie_is_secure_through_the_tunnel(owner, client) -> None:
    tunnel = {"Cf-Connecting-Ip": "203.0.113.5", "Cf-Visitor": '{"scheme":"https"}', "X-Forwarded-Proto": "https"}
    csrf = client.get("/api/auth/session", headers=tunnel).json["csrf_token"]
    res = client.post("/api/auth/login", json={"username": OWNER, "password": PASSWORD},
                      headers={"X-CSRF-Token": csrf, **tunnel})
    assert res.status_code == 200
    assert "Secure" in res.headers["Set-Cookie"]
    assert res.headers["Strict-Transport-Security"].startswith("max-age=")


def test_login_failures_over_http_say_what_happened(owner, client) -> None:
    owner.settings.update({"security.lockout_failures": 2})
    csrf = client.get("/api/auth/session").json["csrf_token"]
    for _ in range(2):
        res = client.post("/api/auth/login", json={"username": OWNER, "password": "wrong-wrong"},
                          headers={"X-CSRF-Token": csrf})
        assert res.status_code == 401 and res.json["error"]["code"] == "bad_credentials"
    res = client.post("/api/auth/login", json={"username": OWNER, "password": PASSWORD},
                      headers={"X-CSRF-Token": csrf})
    assert res.status_code == 423
    assert res.json["error"]["details"]["retry_after"] > 0
    assert "Try again in" in res.json["error"]["message"]
    page = client.get("/login", headers={"Accept": "text/html"})
    assert b'data-locked-for="' in page.data and b'data-locked-for="0"' not in page.data


def test_change_password_ends_other_sessions(owner, app) -> None:
    phone, laptop = app.test_client(), app.test_client()
    login(phone)
    csrf = login(laptop)
    res = laptop.post("/api/auth/password", json={"current_password": "wrong-one", "new_password": NEW_PASSWORD},
                      headers={"X-CSRF-Token": csrf})
    assert res.status_code == 403
    res = laptop.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": "weak"},
                      headers={"X-CSRF-Token": csrf})
    assert res.status_code == 422
    res = laptop.post("/api/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                      headers={"X-CSRF-Token": csrf})
    assert res.status_code == 200 and res.json["other_sessions_ended"] == 1
    assert phone.get("/api/server").status_code == 401
    assert laptop.get("/api/server").status_code == 200
    assert "password-changed" in events(owner)


def test_log_out_every_device(owner, app) -> None:
    phone, laptop = app.test_client(), app.test_client()
    login(phone)
    csrf = login(laptop)
    assert laptop.post("/api/auth/logout-all", headers={"X-CSRF-Token": csrf}).json["ended"] == 2
    assert phone.get("/api/server").status_code == 401
    assert laptop.get("/api/server").status_code == 401


def test_api_keys_create_list_use_revoke(owner, app) -> None:
    browser = app.test_client()
    csrf = login(browser)
    res = browser.post("/api/auth/keys", json={"name": "backup script", "scopes": ["admin"], "remote": True},
                       headers={"X-CSRF-Token": csrf})
    assert res.status_code == 201
    key = remember(res.json["key"])
    assert key.startswith("nxk_") and res.json["prefix"] == key[:12]
    listed = browser.get("/api/auth/keys").json["keys"]
    assert listed[0]["name"] == "backup script" and "key" not in listed[0] and listed[0]["last_used_at"] is None
    assert listed[0]["scopes"] == ["read", "admin"] and listed[0]["remote"] is True

    script = app.test_client()
    bearer = {"Authorization": f"Bearer {key}"}
    assert script.get("/api/server", headers=bearer).status_code == 200
    # No CSRF token needed: a bearer header is not sent by browsers on their own.
    assert script.patch("/api/settings", json={"restart.max_attempts": 4}, headers=bearer).status_code == 200
    # Through the tunnel too (it was made usable remotely).
    assert script.get("/api/server", headers={**bearer, "Cf-Connecting-Ip": "203.0.113.9"}).status_code == 200
    used = browser.get("/api/auth/keys").json["keys"][0]
    assert (used["last_used_via"], used["last_used_ip"]) == ("tunnel", "203.0.113.9"), "where it was last used from"
    # Keys cannot manage security.
    assert script.post("/api/auth/keys", json={"name": "x"}, headers=bearer).status_code == 403
    assert browser.get("/api/auth/keys").json["keys"][0]["last_used_at"] is not None

    key_id = listed[0]["id"]
    assert browser.delete(f"/api/auth/keys/{key_id}", headers={"X-CSRF-Token": csrf}).status_code == 200
    res = script.get("/api/server", headers=bearer)
    assert res.status_code == 401 and res.json["error"]["code"] == "bad_api_key"
    assert browser.delete("/api/auth/keys/999", headers={"X-CSRF-Token": csrf}).status_code == 404
    assert {"key-created", "key-revoked"} <= set(events(owner))


def test_api_keys_are_stored_hashed(owner) -> None:
    record, key = owner.auth.create_key("ci")
    remember(key)
    with owner.db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT prefix, key_hash FROM api_keys").fetchall()
    assert rows[0][0] == key[:12] and key not in rows[0][1] and len(rows[0][1]) == 64


def test_csrf_is_required_for_session_state_changes(owner, app) -> None:
    browser = app.test_client()
    csrf = login(browser)
    res = browser.post("/api/server/stop")
    assert res.status_code == 403 and res.json["error"]["code"] == "csrf_failed"
    assert browser.post("/api/server/stop", headers={"X-CSRF-Token": "x" * 64}).status_code == 403
    assert browser.post("/api/server/stop", headers={"X-CSRF-Token": csrf}).status_code == 200


def test_desktop_one_time_token_works_once_and_only_on_loopback(owner, app) -> None:
    token = remember(owner.auth.issue_desktop_token())
    remote = app.test_client()
    res = remote.get(f"/auth/desktop?token={token}", headers={"Cf-Connecting-Ip": "203.0.113.9"})
    assert res.status_code in (401, 403, 303)
    assert remote.get("/api/server", headers={"Cf-Connecting-Ip": "203.0.113.9"}).status_code == 401

    window = app.test_client()
    res = window.get(f"/auth/desktop?token={token}")
    assert res.status_code == 303 and res.headers["Location"] == "/"
    assert window.get("/api/server").status_code == 200
    again = app.test_client().get(f"/auth/desktop?token={token}")
    assert again.status_code == 401, "one time only"
    assert "desktop-login" in events(owner)


def test_desktop_token_expires(owner, app, monkeypatch: pytest.MonkeyPatch) -> None:
    token = remember(owner.auth.issue_desktop_token(ttl=60))
    a_minute_later = owner.auth._clock() + 61
    monkeypatch.setattr(owner.auth, "_clock", lambda: a_minute_later)
    assert app.test_client().get(f"/auth/desktop?token={token}").status_code == 401


def test_write_routes_are_rate_limited(owner, app) -> None:
    owner.settings.update({"security.write_rate_per_minute": 10})
    browser = app.test_client()
    csrf = login(browser)
    statuses = [browser.patch("/api/settings", json={"restart.max_attempts": 5}, headers={"X-CSRF-Token": csrf})
                .status_code for _ in range(12)]
    assert statuses.count(429) >= 1 and statuses[0] == 200
    res = browser.patch("/api/settings", json={"restart.max_attempts": 5}, headers={"X-CSRF-Token": csrf})
    assert res.status_code == 429 and int(res.headers["Retry-After"]) >= 1


def test_pages_redirect_to_login_and_back(owner, app) -> None:
    browser = app.test_client()
    res = browser.get("/security?tab=keys", headers={"Accept": "text/html"})
    assert res.status_code == 303 and res.headers["Location"].startswith("/login?next=/security")
    page = browser.get(res.headers["Location"], headers={"Accept": "text/html"})
    assert page.status_code == 200 and b'data-next="/security?tab=keys"' in page.data
    evil = browser.get("/login?next=//evil.example/x", headers={"Accept": "text/html"})
    assert b'data-next="/"' in evil.data, "no open redirect"


def test_local_sign_in_can_be_turned_off_but_never_for_the_tunnel(runtime, client) -> None:
    make_owner(runtime, login_locally=False)
    assert client.get("/api/server").status_code == 200
    assert client.get("/api/server", headers={"Cf-Connecting-Ip": "203.0.113.9"}).status_code == 401
    assert client.get("/api/server", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401


def test_audit_log_lists_security_events(owner, app) -> None:
    browser = app.test_client()
    csrf = browser.get("/api/auth/session").json["csrf_token"]
    browser.post("/api/auth/login", json={"username": OWNER, "password": "wrong-pass"},
                 headers={"X-CSRF-Token": csrf})
    login(browser)
    entries = browser.get("/api/audit?limit=10").json["events"]
    kinds = [e["event"] for e in entries]
    assert kinds[:2] == ["login", "login-failed"]
    assert all(PASSWORD not in json.dumps(e) for e in entries)
