"""REST for chat sessions: create, prompt, stop, answer permissions, rename, archive,
delete (with restore), history, search and export."""

from __future__ import annotations

import re
from typing import Any, Literal, overload

from flask import Response, jsonify, request

from nexus.chat.engines.base import EngineError
from nexus.chat.service import to_markdown
from nexus.ui.context import float_arg, int_arg, json_body, runtime
from nexus.ui.errors import ApiError
from nexus.ui.security import refuse_remote_shell_approval

# Prompts may carry attachments (base64 in JSON); everything else keeps the small default limit.
MAX_PROMPT_BYTES = 40 * 1024 * 1024


def _chat():
    return runtime().chat


@overload
def _text_field(body: dict[str, Any], name: str, required: Literal[True]) -> str: ...
@overload
def _text_field(body: dict[str, Any], name: str, required: bool = False) -> str | None: ...
def _text_field(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name!r} must be text.", "bad_request")
    return value


def sessions_list() -> Any:
    state = request.args.get("state", "active")
    if state not in ("active", "archived", "all", "deleted"):
        raise ApiError(400, "state must be active, archived, deleted or all.", "bad_parameter")
    limit = int_arg("limit", 50, 1, 200) or 50
    offset = int_arg("offset", 0, 0, 10**9) or 0
    filters = {"agent": _short_arg("agent"), "model": _short_arg("model"),
               "created_from": float_arg("created_from"), "created_to": float_arg("created_to"),
               "directory": _long_arg("directory"), "server": _short_arg("server")}
    sessions, total = _chat().list(None if state == "all" else state, limit, offset,
                                   request.args.get("q") or None, **filters)
    out = {"sessions": sessions, "total": total, "limit": limit, "offset": offset}
    if request.args.get("facets") == "1":
        out["facets"] = _chat().facets()
    return jsonify(out)


def _short_arg(name: str) -> str | None:
    value = request.args.get(name) or None
    if value is not None and len(value) > 200:
        raise ApiError(400, f"The query parameter {name!r} is too long (at most 200 characters).", "bad_parameter")
    return value


def _long_arg(name: str) -> str | None:
    value = request.args.get(name) or None
    if value is not None and len(value) > 4096:
        raise ApiError(400, f"The query parameter {name!r} is too long.", "bad_parameter")
    return value


def sessions_create() -> Any:
    from nexus.ui.api_projects import check_session_directory

    body = json_body()
    directory, server = check_session_directory(body)
    session = _chat().create(title=_text_field(body, "title"), engine=_text_field(body, "engine") or "opencode",
                             agent=_text_field(body, "agent"), model=_text_field(body, "model"),
                             agent_id=_text_field(body, "agent_id"), directory=directory, server=server)
    projects = runtime().projects
    if projects is not None and session.get("directory") and session.get("engine") == "opencode":
        projects.used(session.get("server") or "local", session["directory"])
    return jsonify(session), 201


def session_get(session_id: str) -> Any:
    return jsonify(_chat().get(session_id))


def session_update(session_id: str) -> Any:
    body = json_body()
    chat = _chat()
    if "title" in body:
        chat.rename(session_id, _text_field(body, "title", required=True))
    if "state" in body:
        state = body["state"]
        if state not in ("active", "archived"):
            raise ApiError(400, "state must be active or archived.", "bad_request")
        (chat.archive if state == "archived" else chat.unarchive)(session_id)
    if {"model", "agent"} & set(body):
        choice = {k: _text_field(body, k, required=True) for k in ("model", "agent") if k in body}
        for name, value in choice.items():
            if not value or not value.strip() or len(value) > 200:
                raise ApiError(400, f"The {name} name must be 1 to 200 characters.", "bad_request")
        chat.remember_choice(session_id, **choice)
    if not {"title", "state", "model", "agent"} & set(body):
        raise ApiError(400, "Send a new title, state, model or agent.", "bad_request")
    return jsonify(chat.get(session_id))


def session_delete(session_id: str) -> Any:
    everywhere = request.args.get("opencode", "0")
    if everywhere not in ("0", "1"):
        raise ApiError(400, "opencode must be 0 (delete in Nexus only) or 1 (in OpenCode too).", "bad_parameter")
    _chat().delete(session_id, in_engine=everywhere == "1")
    return Response(status=204)


def session_restore(session_id: str) -> Any:
    return jsonify(_chat().restore(session_id))


def session_prompt(session_id: str) -> Any:
    body = json_body()
    files = body.get("files") or []
    outcome = _chat().prompt(session_id, text=_text_field(body, "text") or "", files=files,
                             agent=_text_field(body, "agent"), model=_text_field(body, "model"),
                             mentions=body.get("mentions") or [])
    return jsonify({"accepted": True, **outcome}), 202


def session_commands(session_id: str) -> Any:
    return jsonify({"commands": _chat().commands(session_id)})


def session_command_run(session_id: str, name: str) -> Any:
    body = json_body()
    outcome = _chat().run_command(session_id, name, _text_field(body, "arguments") or "",
                                  agent=_text_field(body, "agent"), model=_text_field(body, "model"))
    return jsonify({"accepted": True, **outcome}), 202


def session_mentions(session_id: str) -> Any:
    query = request.args.get("q") or ""
    if len(query) > 200:
        raise ApiError(400, "The query is too long (at most 200 characters).", "bad_parameter")
    return jsonify(_chat().mention_candidates(session_id, query))


def session_compact(session_id: str) -> Any:
    _chat().compact(session_id)
    return jsonify({"accepted": True}), 202


def session_queued_edit(session_id: str, item_id: str) -> Any:
    body = json_body()
    _chat().edit_queued(session_id, item_id, _text_field(body, "text", required=True))
    return jsonify({"ok": True})


def session_queued_cancel(session_id: str, item_id: str) -> Any:
    _chat().cancel_queued(session_id, item_id)
    return Response(status=204)


def session_prompt_limit() -> None:
    """Raise the body size limit for the prompt route before Flask reads the body."""
    if request.endpoint == "session_prompt":
        request.max_content_length = MAX_PROMPT_BYTES


def session_abort(session_id: str) -> Any:
    _chat().abort(session_id)
    return jsonify({"accepted": True}), 202


def session_permission(session_id: str, permission_id: str) -> Any:
    body = json_body()
    reply = _text_field(body, "reply", required=True)
    refuse_remote_shell_approval(session_id, permission_id, reply)
    _chat().reply_permission(session_id, permission_id, reply, _text_field(body, "message"))
    return jsonify({"ok": True})


def session_question(session_id: str, question_id: str) -> Any:
    body = json_body()
    reject = body.get("reject", False)
    if not isinstance(reject, bool):
        raise ApiError(400, "'reject' must be true or false.", "bad_request")
    if not reject and "answers" not in body:
        raise ApiError(400, "Send {answers: [[label, ...], ...]} or {reject: true}.", "bad_request")
    _chat().answer_question(session_id, question_id, body.get("answers"), reject)
    return jsonify({"ok": True})


def session_messages(session_id: str) -> Any:
    limit = int_arg("limit", 100, 1, 500) or 100
    return jsonify(_chat().messages(session_id, before=request.args.get("before") or None, limit=limit))


def session_export(session_id: str) -> Any:
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "md"):
        raise ApiError(400, "format must be json or md.", "bad_parameter")
    export = _chat().export(session_id)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", export["session"]["title"]).strip("-")[:60] or session_id
    response = Response(to_markdown(export), mimetype="text/markdown") if fmt == "md" else jsonify(export)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def search() -> Any:
    query = (request.args.get("q") or "").strip()
    if not query:
        raise ApiError(400, "Give something to search for: ?q=words", "bad_parameter")
    limit = int_arg("limit", 20, 1, 100) or 20
    return jsonify({"results": _chat().search(query, limit)})


# OpenCode not running is an ordinary state, not a failure: pages ask for models and agents on
# load, so these answer 200 with an empty list and say why ("available": false, the reason).
_NOT_RUNNING = ("server_not_running", "engine_stopped")


def _offer(key: str, load: Any) -> Any:
    try:
        return jsonify({key: load(), "available": True})
    except EngineError as exc:
        if exc.code not in _NOT_RUNNING:
            raise
        return jsonify({key: [], "available": False, "reason": str(exc)})


def models() -> Any:
    server = _short_arg("server")
    return _offer("models", lambda: _chat().models(server=server))


def agents() -> Any:
    server = _short_arg("server")
    return _offer("agents", lambda: _chat().agents(server=server))
