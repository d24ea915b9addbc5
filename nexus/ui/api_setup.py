"""REST for the setup wizard (the rules live in nexus.setup)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from nexus.ui.context import json_body, runtime
from nexus.ui.security import caller, set_session_cookie


def _opencode_found(settings: Any) -> dict[str, Any]:
    """Whether OpenCode is really there, for the wizard's summary (never "found" when it is not)."""
    from nexus.server.binary import BinaryNotFound, find_opencode

    if settings["server.url"]:
        return {"found": True, "where": settings["server.url"]}
    try:
        path, _source = find_opencode(settings["server.binary"])
    except BinaryNotFound:
        return {"found": False, "where": ""}
    return {"found": True, "where": path}


def setup_state() -> Any:
    rt = runtime()
    state = rt.setup.state()
    if state["step"] == "system":
        state["checks"] = rt.setup.system_check()
    if state["step"] == "done":
        state["opencode"] = _opencode_found(rt.settings)
    return jsonify(state)


def setup_submit(step: str) -> Any:
    rt, who = runtime(), caller()
    body = json_body()
    had_owner = rt.auth.has_owner()
    state = rt.setup.submit(step, body, ip=who.ip, via=who.via)
    if state["step"] == "system":
        state["checks"] = rt.setup.system_check()
    if state["step"] == "done":
        state["opencode"] = _opencode_found(rt.settings)
    response = jsonify(state)
    if step == "password" and not had_owner and (who.session is None or who.session.record.kind == "setup"):
        # The person who just chose the password stays signed in for the rest of the wizard
        # (the setup token's session ended with the owner's creation).
        session = rt.auth.login(state["owner"]["username"], body["password"], ip=who.ip, via=who.via)
        who.session = session
        state["csrf_token"] = session.csrf
        response = set_session_cookie(jsonify(state), session)
    if step == "done" and rt.settings["tunnel.mode"] != "off" and rt.started:
        rt._autostart_tunnel()
    return response


def setup_restart() -> Any:
    who = caller()
    return jsonify(runtime().setup.restart(ip=who.ip, via=who.via))


def opencode_install_state() -> Any:
    """The wizard's OpenCode install: the exact command, whether npm is there, the output so far."""
    return jsonify(runtime().opencode_installer.state())


def opencode_install_start() -> Any:
    return jsonify(runtime().opencode_installer.start()), 202  # an InstallError is a ServiceError
