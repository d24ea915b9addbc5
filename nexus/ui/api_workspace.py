"""REST for the workspace pane: a session's files, their search, its changes and its terminals.

Terminals and manual commands run anything on this computer, so beyond the usual guard
(sign-in through the tunnel) they need the owner's browser session when remote, and the
owner's consent: `terminal.remote_enabled` (off by default).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from nexus.ui.context import int_arg, json_body, runtime
from nexus.ui.errors import ApiError
from nexus.ui.security import caller

REMOTE_OFF = ("Terminals and commands are switched off for remote devices. Allow them on the Security page "
              "of Nexus on the computer it runs on (setting terminal.remote_enabled).")
REMOTE_NEEDS_OWNER = "Terminals through the tunnel need the owner signed in in a browser (not an API key)."


def shell_refusal() -> tuple[str, str] | None:
    """Why this caller may not open a shell or run a command here: (code, message), or None."""
    who = caller()
    if who.via == "local":
        return None
    if who.session is None:
        return "login_required", REMOTE_NEEDS_OWNER
    if not runtime().settings["terminal.remote_enabled"]:
        return "remote_terminal_off", REMOTE_OFF
    return None


def _check_shell_allowed() -> None:
    refusal = shell_refusal()
    if refusal:
        raise ApiError(403, refusal[1], refusal[0])


def _service():
    return runtime().workspace


def workspace_files(session_id: str) -> Any:
    files = _service().files(session_id)
    return jsonify(files.list_dir(request.args.get("path") or "."))


def workspace_file_content(session_id: str) -> Any:
    path = request.args.get("path")
    if not path:
        raise ApiError(400, "Name the file: ?path=relative/path", "bad_parameter")
    files = _service().files(session_id)
    return jsonify(files.read(path))


def workspace_search(session_id: str) -> Any:
    query = (request.args.get("q") or "").strip()
    if not query:
        raise ApiError(400, "Give something to search for: ?q=text", "bad_parameter")
    if len(query) > 200:
        raise ApiError(400, "Search for at most 200 characters.", "bad_parameter")
    where = request.args.get("in", "names")
    if where not in ("names", "content"):
        raise ApiError(400, "in must be names or content.", "bad_parameter")
    limit = int_arg("limit", 100, 1, 500) or 100
    files = _service().files(session_id)
    if where == "names":
        return jsonify({"query": query, "in": where, "files": files.search_names(query, limit)})
    return jsonify({"query": query, "in": where, "matches": files.search_content(query, limit)})


def workspace_changes(session_id: str) -> Any:
    return jsonify(_service().changes(session_id))


def terminals_list(session_id: str) -> Any:
    return jsonify({"terminals": [t.to_json() for t in _service().terminals_of(session_id)]})


def terminals_create(session_id: str) -> Any:
    _check_shell_allowed()
    body = json_body()
    cols, rows = body.get("cols", 80), body.get("rows", 24)
    if not all(isinstance(v, int) and not isinstance(v, bool) and 2 <= v <= 1000 for v in (cols, rows)):
        raise ApiError(400, "cols and rows must be whole numbers from 2 to 1000.", "bad_request")
    terminal = _service().open_terminal(session_id, cols, rows)
    return jsonify(terminal.to_json()), 201


def terminals_close(session_id: str, terminal_id: str) -> Any:
    _service().close_terminal(session_id, terminal_id)
    return Response(status=204)
