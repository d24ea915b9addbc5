"""REST for the setup wizard (the rules live in nexus.setup)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from nexus.ui.context import json_body, runtime
from nexus.ui.security import caller, set_session_cookie


def setup_state() -> Any:
    rt = runtime()
    state = rt.setup.state()
    if state["step"] == "system":
        state["checks"] = rt.setup.system_check()
    return jsonify(state)


def setup_submit(step: str) -> Any:
    rt, who = runtime(), caller()
    body = json_body()
    had_owner = rt.auth.has_owner()
    state = rt.setup.submit(step, body, ip=who.ip, via=who.via)
    if state["step"] == "system":
        state["checks"] = rt.setup.system_check()
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
