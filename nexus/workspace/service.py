"""The workspace pane's services for one Nexus: which folder a session works in, its files,
its changes and its terminals.

A session works in the folder its record names (`directory`, e.g. a per-agent workspace)
when that folder exists, otherwise in OpenCode's workspace (`server.workspace`, default the
data dir's workspace folder). Everything goes through that folder's confinement.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from nexus.bus import EventBus
from nexus.settings import Settings
from nexus.workspace.changes import working_changes
from nexus.workspace.confine import Workspace
from nexus.workspace.files import FileError, WorkspaceFiles
from nexus.workspace.terminals import TerminalManager


class WorkspaceService:
    def __init__(self, settings: Settings, bus: EventBus, default_workspace: Path,
                 session_record: Callable[[str], dict[str, Any] | None]) -> None:
        self._settings = settings
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
        chosen = self._settings["server.workspace"]
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
