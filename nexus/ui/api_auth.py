"""REST for signing in and out, the password, API keys and the audit log (thin: the rules
live in nexus.auth)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from nexus.auth.passwords import password_strength
from nexus.auth.service import REAUTH_SECONDS
from nexus.ui.context import int_arg, json_body, runtime
from nexus.ui.errors import ApiError
from nexus.ui.security import caller, clear_session_cookie, set_session_cookie


def _text(body: dict[str, Any], name: str, limit: int = 1000) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"Send {name!r} as text.", "bad_request", field=name)
    if len(value) > limit:
        raise ApiError(400, f"{name!r} is longer than {limit} characters.", "bad_request", field=name)
    return value


def auth_session() -> Any:
    """Who am I: open to everyone, so the sign-in page and scripts can tell what is needed."""
    rt, who = runtime(), caller()
    return jsonify({
        "signed_in": who.signed_in, "via": who.via,
        "kind": "api-key" if who.key else (who.session.record.kind if who.session else None),
        "expires_at": who.session.record.expires_at if who.session else None,
        "username": rt.auth.username() if who.signed_in else None,
        "setup_completed": rt.setup.completed,
        "login_required": who.via == "tunnel" or (rt.auth.has_owner() and rt.settings["security.require_login_locally"]),
        "locked_for": round(rt.auth.lockout_remaining(who.ip, who.via)),
        "csrf_token": who.csrf_token() if not who.key else None,
        "password_confirmed": rt.auth.recently_confirmed(who.session),
    })


def auth_login() -> Any:
    body = json_body()
    username = _text(body, "username", 100)
    password = _text(body, "password")
    who = caller()
    session = runtime().auth.login(username, password, ip=who.ip, via=who.via,
                                   client=request.headers.get("User-Agent", "")[:200])
    who.session = session
    return set_session_cookie(jsonify({"signed_in": True, "csrf_token": session.csrf,
                                       "expires_at": session.record.expires_at}), session)


def auth_confirm() -> Any:
    """The owner, present: type the password again before a security change. Signed in, it
    refreshes this session; on this computer with local sign-in off, it signs the browser in."""
    rt, who = runtime(), caller()
    password = _text(json_body(), "password")
    if who.session is None:
        who.session = rt.auth.login(rt.auth.username() or "", password, ip=who.ip, via=who.via,
                                    client=request.headers.get("User-Agent", "")[:200])
        who.new_session = True
    else:
        rt.auth.confirm_password(who.session, password, ip=who.ip, via=who.via)
    return jsonify({"confirmed": True, "csrf_token": who.session.csrf,
                    "valid_for": int(REAUTH_SECONDS)})


def auth_logout() -> Any:
    who = caller()
    if who.session is not None:
        runtime().auth.logout(who.session, ip=who.ip, via=who.via)
    return clear_session_cookie(jsonify({"signed_in": False}))


def auth_logout_all() -> Any:
    who = caller()
    ended = runtime().auth.logout_all(ip=who.ip, via=who.via)
    return clear_session_cookie(jsonify({"signed_in": False, "ended": ended}))


def auth_password_change() -> Any:
    body = json_body()
    who = caller()
    ended = runtime().auth.change_password(who.session, _text(body, "current_password"),
                                           _text(body, "new_password"), ip=who.ip, via=who.via)
    return jsonify({"changed": True, "other_sessions_ended": ended})


def auth_password_strength() -> Any:
    body = json_body()
    password = body.get("password", "")
    if not isinstance(password, str):
        raise ApiError(400, "Send 'password' as text.", "bad_request", field="password")
    username = body.get("username")
    return jsonify(password_strength(password, [username if isinstance(username, str) else ""]).to_json())


def auth_keys_list() -> Any:
    return jsonify({"keys": [k.to_json() for k in runtime().auth.keys()]})  # noqa: SIM118 - AuthService.keys(), not a dict


def auth_keys_create() -> Any:
    body = json_body()
    who = caller()
    record, key = runtime().auth.create_key(str(body.get("name", "")), scopes=body.get("scopes"),
                                            remote=body.get("remote", False), ip=who.ip, via=who.via)
    return jsonify({**record.to_json(), "key": key,
                    "note": "Copy the key now: Nexus keeps only its hash and cannot show it again."}), 201


def auth_keys_revoke(key_id: int) -> Any:
    who = caller()
    record = runtime().auth.revoke_key(key_id, ip=who.ip, via=who.via)
    return jsonify(record.to_json())


def audit_list() -> Any:
    limit = int_arg("limit", 100, 1, 500)
    before = int_arg("before", None, 0, 2**62)
    return jsonify({"events": runtime().audit.recent(limit or 100, before)})
