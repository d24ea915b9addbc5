"""Lock out the attacker, not the owner: a stranger's failed sign-ins through the tunnel while
the owner signs in, from the phone (another address) and on this computer."""

from __future__ import annotations

import time

import pytest

from nexus.auth import AuthError
from nexus.auth.lockout import REMOTE_FAILURES_PER_HOUR
from tests.auth_helpers import OWNER, PASSWORD, login, make_owner

STRANGER = {"Cf-Connecting-Ip": "198.51.100.66"}
PHONE = {"Cf-Connecting-Ip": "203.0.113.7"}


@pytest.fixture
def owner(runtime):
    make_owner(runtime)
    runtime.settings.update({"security.lockout_failures": 5, "security.lockout_minutes": 15,
                             "security.login_rate_per_minute": 1000})
    return runtime


def _guess(client, headers: dict[str, str], password: str = "guess-guess-guess") -> int:
    csrf = client.get("/api/auth/session", headers=headers).json["csrf_token"]
    res = client.post("/api/auth/login", json={"username": OWNER, "password": password},
                      headers={"X-CSRF-Token": csrf, **headers})
    return res.status_code


def test_a_strangers_failures_lock_the_stranger_not_the_owner(owner, app) -> None:
    stranger = app.test_client()
    codes = [_guess(stranger, STRANGER) for _ in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {423}, codes
    # Even with the right password the stranger's address stays locked...
    assert _guess(stranger, STRANGER, PASSWORD) == 423
    assert stranger.get("/api/auth/session", headers=STRANGER).json["locked_for"] > 800
    # ...while the owner signs in from the phone through the tunnel, and on this computer.
    phone, laptop = app.test_client(), app.test_client()
    assert phone.get("/api/auth/session", headers=PHONE).json["locked_for"] == 0
    login(phone, **PHONE)
    assert phone.get("/api/server", headers=PHONE).status_code == 200
    login(laptop)
    assert laptop.get("/api/server").status_code == 200
    assert "lockout" in [e["event"] for e in owner.audit.recent()]


def test_strangers_with_many_addresses_spend_the_tunnels_hourly_budget_only(owner, app) -> None:
    clock = [time.time()]
    owner.auth._clock = lambda: clock[0]
    attackers = app.test_client()
    # A botnet: every guess from a new address, so no single address is ever locked.
    codes = [_guess(attackers, {"Cf-Connecting-Ip": f"192.0.2.{n % 250}", "X-Forwarded-For": f"10.0.{n}.1"})
             for n in range(REMOTE_FAILURES_PER_HOUR + 5)]
    assert codes.count(401) == REMOTE_FAILURES_PER_HOUR, "the bound on guesses an hour through the tunnel"
    assert set(codes[REMOTE_FAILURES_PER_HOUR:]) == {423}
    # Through the tunnel everybody waits now (the owner's phone too)...
    assert _guess(app.test_client(), PHONE, PASSWORD) == 423
    # ...but this computer is never held by remote failures: local sign-in and the desktop window work.
    login(app.test_client())
    window = app.test_client()
    res = window.get("/auth/desktop", query_string={"token": owner.auth.issue_desktop_token(), "next": "/"})
    assert res.status_code == 303 and window.get("/api/auth/session").json["signed_in"] is True
    # An hour later the tunnel opens again.
    clock[0] += 3601
    assert _guess(app.test_client(), PHONE, PASSWORD) == 200


def test_local_failures_do_not_lock_the_phone_and_the_budget_survives_a_restart(owner, tmp_path) -> None:
    for _ in range(5):
        with pytest.raises(AuthError):
            owner.auth.login(OWNER, "local-guess-123", ip="127.0.0.1", via="local")
    with pytest.raises(AuthError) as locked:
        owner.auth.login(OWNER, PASSWORD, ip="127.0.0.1", via="local")
    assert locked.value.status == 423 and "this computer" in locked.value.message
    owner.auth.login(OWNER, PASSWORD, ip="203.0.113.7", via="tunnel")  # the phone is another client
    # Remote failures are counted in the store: a restart does not refund them.
    for _ in range(3):
        with pytest.raises(AuthError):
            owner.auth.login(OWNER, "remote-guess-1", ip="192.0.2.9", via="tunnel")
    from nexus.auth.repository import AuthRepository

    assert AuthRepository(owner.db).owner().failed_count == 3
