"""The workspace pane's services for one Nexus: which folder a session works in, its files,
its changes and its terminals.

A session works in the folder its record names (`directory`, e.g. a per-agent workspace)
when that folder exists, otherwise in OpenCode's workspace (`server.workspace`, default the
data dir's workspace folder). Everything goes through that folder's confinement.

A session on an attached OpenCode server (another machine, a container) works in a folder
on that server: its files and changes come from OpenCode's own API
(nexus/workspace/remote_files.py, same answers, same confinement) and its terminals are
OpenCode's PTYs there. Running a single command stays on this computer, so it is refused.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexus.bus import EventBus
from nexus.server.client import OpenCodeError
from nexus.server.supervisor import NotRunning, Supervisor
from nexus.settings import Settings
from nexus.workspace.changes import working_changes
from nexus.workspace.confine import Workspace
from nexus.workspace.files import FileError, FileSource, WorkspaceFiles
from nexus.workspace.manual_commands import ManualCommand, ManualCommands
from nexus.workspace.remote_files import RemoteFiles
from nexus.workspace.terminals import Terminal, TerminalError, TerminalManager

log = logging.getLogger(__name__)


class WorkspaceService:
    def __init__(self, settings: Settings, bus: EventBus, default_workspace: Path,
                 session_record: Callable[[str], dict[str, Any] | None],
                 supervisor: Supervisor | None = None, servers: Any = None) -> None:
        self._settings = settings
        self._supervisor = supervisor
        self._servers = servers  # nexus.servers.registry.ServerRegistry: a session's own server
        self._default = default_workspace
        self._session_record = session_record
        self.terminals = TerminalManager(bus)
        self._manual_commands = ManualCommands()

    def start(self) -> None:
        self.terminals.start()

    def stop(self) -> None:
        self._manual_commands.stop()
        self.terminals.stop()

    def terminals_of(self, session_id: str) -> list[Terminal]:
        self._record(session_id)  # a session that does not exist is a 404, not an empty list
        return self.terminals.list(session_id)

    def terminal(self, terminal_id: str, session_id: str | None = None) -> Terminal:
        """An open terminal; with `session_id`, only if it belongs to that session."""
        terminal = self.terminals.get(terminal_id)
        if session_id is not None and terminal.session_id != session_id:
            raise TerminalError("No such terminal in this session.", "not_found", 404)
        return terminal

    def close_terminal(self, session_id: str, terminal_id: str) -> None:
        self.terminals.close(self.terminal(terminal_id, session_id).id)

    def manual_command(self, session_id: str) -> ManualCommand:
        """A command a person will run by hand in the session's folder ("run a command"):
        not started yet, so a client is refused for a missing folder before it sends one.
        The caller starts it and stops it when it goes."""
        return self._manual_commands.prepare(self.folder_for(session_id))

    def manual_commands_running(self) -> int:
        return self._manual_commands.running()

    def _record(self, session_id: str) -> dict[str, Any]:
        session = self._session_record(session_id)
        if session is None:
            raise FileError("No such session.", "not_found", 404)
        return session

    @staticmethod
    def _on_attached_server(session: dict[str, Any]) -> bool:
        return session.get("engine") == "opencode" and session.get("server") not in (None, "", "local")

    def _server_name(self, session: dict[str, Any]) -> str:
        server = str(session.get("server"))
        return self._servers.name_of(server) if self._servers is not None else server

    def folder_for(self, session_id: str) -> Path:
        """The session's folder on this computer (for what runs here: run a command)."""
        session = self._record(session_id)
        own = session.get("directory")
        if self._on_attached_server(session):
            # Its folder is on that server, even when a folder of that name exists here:
            # never run something in a folder that only looks like the project.
            name = self._server_name(session)
            raise FileError(f"Running a single command works only for projects on this computer; this one is on "
                            f"the server {name!r}. Open a terminal instead: it runs there.", "remote_project", 409)
        if own and Path(own).expanduser().is_dir():
            return Path(own).expanduser()
        chosen = self._settings.current.server.workspace
        folder = Path(chosen or self._default).expanduser()
        if not chosen:
            folder.mkdir(parents=True, exist_ok=True)  # OpenCode makes it too, once it starts
        if not folder.is_dir():
            raise FileError(f"The workspace folder {folder} does not exist yet.", "no_workspace", 404)
        return folder

    def workspace(self, session_id: str) -> Workspace:
        return Workspace(self.folder_for(session_id))

    def files(self, session_id: str) -> FileSource:
        """The session's file source: this disk, or OpenCode's API for an attached server."""
        session = self._record(session_id)
        if self._on_attached_server(session):
            return self._remote_files(session)
        return WorkspaceFiles(self.workspace(session_id))

    def changes(self, session_id: str) -> dict[str, Any]:
        session = self._record(session_id)
        if self._on_attached_server(session):
            return self._remote_files(session).changes()
        return working_changes(self.workspace(session_id).root)

    def _remote_client(self, session: dict[str, Any]) -> Any:
        client = self._opencode_client(session) if self._servers is not None else None
        if client is None:
            name = self._server_name(session)
            raise FileError(f"The OpenCode server {name!r} is not reachable right now; its files show again "
                            "when it is back.", "server_unreachable", 503)
        return client

    def _remote_root(self, session: dict[str, Any], client: Any) -> str:
        """The project folder on the server: the session's, else the server's own default."""
        if session.get("directory"):
            return str(session["directory"])
        try:
            default = client.inner.json("GET", "/path").get("directory")
        except (OpenCodeError, AttributeError) as exc:
            raise FileError("The OpenCode server did not say which folder it works in.", "no_workspace",
                            404) from exc
        if not isinstance(default, str) or not default:
            raise FileError("The OpenCode server did not say which folder it works in.", "no_workspace", 404)
        return default

    def _remote_files(self, session: dict[str, Any]) -> RemoteFiles:
        client = self._remote_client(session)
        return RemoteFiles(client, self._remote_root(session, client), self._server_name(session))

    def _opencode_client(self, session: dict[str, Any] | None = None) -> Any | None:
        if self._servers is not None and session is not None:
            # The session's own server, every call naming the session's project folder.
            return self._servers.client(session.get("server"), session.get("directory"))
        if self._supervisor is None:
            return None
        try:
            return self._supervisor.client
        except NotRunning:
            return None

    def open_terminal(self, session_id: str, cols: int = 80, rows: int = 24) -> Terminal:
        """A shell in the session's workspace: OpenCode's own PTY for OpenCode sessions while
        OpenCode runs, otherwise (other engines, or OpenCode down) one Nexus spawns itself."""
        # Imported here, not at start-up: the terminals pull in psutil and the WebSocket client
        # (~0.1 s), which no page needs until a terminal opens.
        from nexus.workspace.local_pty import LocalPty
        from nexus.workspace.opencode_pty import OpenCodePty

        session = self._record(session_id)
        if self._on_attached_server(session):
            # OpenCode's PTY on that server, in the project folder there (same remote-shell
            # policy as every terminal: the views check it before asking).
            client = self._remote_client(session)
            folder = Path(self._remote_root(session, client))
            return self.terminals.create(session_id, folder, functools.partial(OpenCodePty, client), cols, rows)
        folder = self.folder_for(session_id)
        client = self._opencode_client(session) if session.get("engine") == "opencode" else None
        if session.get("engine") == "opencode" and client is None:
            log.info("OpenCode is not running: session %s gets a terminal Nexus runs itself", session_id)
        spawn = functools.partial(OpenCodePty, client) if client is not None else LocalPty
        return self.terminals.create(session_id, folder, spawn, cols, rows)
