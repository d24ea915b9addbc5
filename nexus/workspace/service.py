"""The workspace pane's services for one Nexus: which folder a session works in, its files,
its changes and its terminals.

A session works in the folder its record names (`directory`, e.g. a per-agent workspace)
when that folder exists, otherwise in OpenCode's workspace (`server.workspace`, default the
data dir's workspace folder). Everything goes through that folder's confinement.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexus.bus import EventBus
from nexus.server.supervisor import NotRunning, Supervisor
from nexus.settings import Settings
from nexus.workspace.changes import working_changes
from nexus.workspace.confine import Workspace
from nexus.workspace.files import FileError, WorkspaceFiles
from nexus.workspace.local_pty import LocalPty
from nexus.workspace.opencode_pty import OpenCodePty
from nexus.workspace.terminals import Terminal, TerminalManager

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

    def start(self) -> None:
        self.terminals.start()

    def stop(self) -> None:
        self.terminals.stop()

    def folder_for(self, session_id: str) -> Path:
        session = self._session_record(session_id)
        if session is None:
            raise FileError("No such session.", "not_found", 404)
        own = session.get("directory")
        if own and Path(own).expanduser().is_dir():
            return Path(own).expanduser()
        if own and session.get("server") not in (None, "local") and session.get("engine") == "opencode":
            # A project on an attached server that is not on this computer: never fall back
            # to another folder, which would show the wrong files.
            raise FileError(f"The project folder {own} is not on this computer (it is on the server "
                            f"{session.get('server')!r}).", "remote_project", 404)
        chosen = self._settings.current.server.workspace
        folder = Path(chosen or self._default).expanduser()
        if not chosen:
            folder.mkdir(parents=True, exist_ok=True)  # OpenCode makes it too, once it starts
        if not folder.is_dir():
            raise FileError(f"The workspace folder {folder} does not exist yet.", "no_workspace", 404)
        return folder

    def workspace(self, session_id: str) -> Workspace:
        return Workspace(self.folder_for(session_id))

    def files(self, session_id: str) -> WorkspaceFiles:
        return WorkspaceFiles(self.workspace(session_id))

    def changes(self, session_id: str) -> dict[str, Any]:
        return working_changes(self.workspace(session_id).root)

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
        folder = self.folder_for(session_id)
        session = self._session_record(session_id) or {}
        client = self._opencode_client(session) if session.get("engine") == "opencode" else None
        if session.get("engine") == "opencode" and client is None:
            log.info("OpenCode is not running: session %s gets a terminal Nexus runs itself", session_id)
        spawn = functools.partial(OpenCodePty, client) if client is not None else LocalPty
        return self.terminals.create(session_id, folder, spawn, cols, rows)
