"""REST for projects (the folders sessions work in) and the OpenCode servers Nexus drives.

Browsing folders shows this computer's file tree, so through the tunnel it follows the
terminal's rules (owner signed in, `terminal.remote_enabled`); picking a folder that is
already a known project does not need that.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from nexus.projects.folders import browse
from nexus.projects.service import ProjectService
from nexus.servers.registry import ServerRegistry
from nexus.ui.api_workspace import shell_refusal
from nexus.ui.context import json_body, runtime
from nexus.ui.errors import ApiError
from nexus.ui.security import caller


def _projects() -> ProjectService:
    projects = runtime().projects
    assert projects is not None, "the runtime builds the project service"
    return projects


def _servers() -> ServerRegistry:
    servers = runtime().servers
    assert servers is not None, "the runtime builds the server registry"
    return servers


def projects_list() -> Any:
    return jsonify({"projects": _projects().list()})


def projects_add() -> Any:
    body = json_body()
    _refuse_unknown_folder_remotely(body.get("directory"), body.get("server"))
    return jsonify(_projects().add(body.get("directory"), body.get("server"))), 201


def projects_browse() -> Any:
    refusal = shell_refusal()
    if refusal:
        raise ApiError(403, "Browsing this computer's folders " + refusal[1].split(" ", 2)[-1]
                       if refusal[0] == "remote_terminal_off" else refusal[1], refusal[0])
    return jsonify(browse(request.args.get("path") or None))


def _refuse_unknown_folder_remotely(directory: Any, server: Any) -> None:
    """Through the tunnel, a folder that is not a known project needs the terminal's rules."""
    refusal = shell_refusal()
    if refusal is None:
        return
    known = {(p["server"], p["path"]) for p in _projects().list()}
    if (server or "local", directory) not in known:
        raise ApiError(403, "From a remote device, pick one of the known projects (adding new folders "
                       "follows the terminal's rules). " + refusal[1], refusal[0])


def check_session_directory(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The `directory` and `server` of a new session, checked; (None, None) for the defaults."""
    server = body.get("server")
    if server is not None and (not isinstance(server, str) or not server):
        raise ApiError(400, "'server' must be a server id from GET /api/servers.", "bad_request")
    server_id = server or "local"
    _servers().get(server_id)
    directory = body.get("directory")
    if directory is None:
        if server_id != "local":
            raise ApiError(400, "Name the project folder ('directory') for a session on an attached server.",
                           "directory_required")
        return None, None
    _refuse_unknown_folder_remotely(directory, server_id)
    path = _projects().check_directory(directory, server_id)
    return path, server_id


def _check_may_manage_servers() -> None:
    """Attaching a server makes Nexus connect to any address and send it prompts and files:
    through the tunnel that takes the owner signed in in a browser, not an API key."""
    who = caller()
    if who.via != "local" and who.session is None:
        raise ApiError(403, "Attaching, changing or detaching OpenCode servers from a remote device needs the owner "
                       "signed in in a browser (not an API key).", "login_required")


def servers_list() -> Any:
    return jsonify({"servers": _servers().list()})


def servers_add() -> Any:
    _check_may_manage_servers()
    body = json_body()
    server = _servers().add(name=body.get("name"), url=body.get("url"),
                            password=body.get("password"), username=body.get("username"))
    return jsonify(server), 201


def server_update(server_id: str) -> Any:
    _check_may_manage_servers()
    return jsonify(_servers().update(server_id, json_body()))


def server_remove(server_id: str) -> Any:
    _check_may_manage_servers()
    _servers().remove(server_id)
    return Response(status=204)
