"""REST for the OpenCode server: status, start/stop/restart, metrics, restart history."""

from __future__ import annotations

import time
from typing import Any

from flask import Response, jsonify

from nexus.server.supervisor import ATTACH_PASSWORD_SECRET, ServerError
from nexus.ui.context import float_arg, int_arg, json_body, runtime
from nexus.ui.errors import ApiError


def server_status() -> Any:
    return jsonify(runtime().supervisor.status())


def _command(action: str) -> Any:
    supervisor = runtime().supervisor
    try:
        status = getattr(supervisor, action)()
    except ServerError as exc:
        raise ApiError(503, str(exc), "server_failed", server=supervisor.status()) from exc
    return jsonify(status)


def server_start() -> Any:
    return _command("start")


def server_stop() -> Any:
    return _command("stop")


def server_restart() -> Any:
    return _command("restart")


def server_metrics() -> Any:
    rt = runtime()
    since = float_arg("since")
    return jsonify({"interval": rt.metrics.interval, "samples": rt.metrics.history(since)})


def server_metrics_history() -> Any:
    since = float_arg("since", time.time() - 86400)
    return jsonify({"samples": runtime().metrics.stored(since or 0.0)})


def server_restarts() -> Any:
    limit = int_arg("limit", 50, 1, 500)
    before = int_arg("before", None, 1, 2**62)
    return jsonify({"restarts": runtime().supervisor.history(limit or 50, before)})


def server_attach_password_set() -> Any:
    """The password of an OpenCode server Nexus attaches to (`server.url`), kept in the secret store."""
    body = json_body()
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise ApiError(400, "Send the server's password as {\"password\": \"...\"}.", "bad_request")
    runtime().secrets.set(ATTACH_PASSWORD_SECRET, password)
    return jsonify({"stored": True, "store": runtime().secrets.label})


def server_attach_password_delete() -> Any:
    runtime().secrets.delete(ATTACH_PASSWORD_SECRET)
    return Response(status=204)
