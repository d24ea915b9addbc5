"""REST for going back in a session (undo, redo, fork, edit and resend) and for what its
agent planned, started and changed (to-dos, sub-agent sessions, diffs)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from nexus.ui.api_chat import _chat
from nexus.ui.context import json_body
from nexus.ui.errors import ApiError


def _message_id(body: dict[str, Any], required: bool) -> str | None:
    value = body.get("message_id")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > 100:
        raise ApiError(400, "message_id must name a message of this session.", "bad_request")
    return value


def session_revert(session_id: str) -> Any:
    body = json_body()
    return jsonify(_chat().history.revert(session_id, _message_id(body, True)))


def session_unrevert(session_id: str) -> Any:
    return jsonify(_chat().history.unrevert(session_id))


def session_fork(session_id: str) -> Any:
    body = json_body()
    return jsonify(_chat().history.fork(session_id, _message_id(body, False))), 201


def session_edit_last(session_id: str) -> Any:
    body = json_body()
    text = body.get("text")
    if not isinstance(text, str):
        raise ApiError(400, "'text' must be text.", "bad_request")
    _chat().history.edit_last(session_id, text)
    return jsonify({"accepted": True}), 202


def session_todos(session_id: str) -> Any:
    return jsonify({"todos": _chat().history.todos(session_id)})


def session_children(session_id: str) -> Any:
    return jsonify({"sessions": _chat().history.children(session_id)})


def session_diff(session_id: str) -> Any:
    message_id = request.args.get("message_id") or None
    if message_id is not None and len(message_id) > 100:
        raise ApiError(400, "message_id is too long.", "bad_parameter")
    return jsonify({"files": _chat().history.diff(session_id, message_id)})
