"""The projects list: what each OpenCode server knows (its `GET /project`), the folders the
owner added, and the folders sessions ran in, most recently used first, each with its VCS
branch (OpenCode's `/vcs`) and how many sessions it has."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexus.chat.repository import ChatRepository
from nexus.projects.folders import ProjectError, check_local_folder, check_spelling
from nexus.projects.repository import ProjectRepository
from nexus.server.client import OpenCodeError
from nexus.servers.registry import LOCAL, ServerRegistry, ServerRegistryError

log = logging.getLogger(__name__)

BRANCH_TTL = 15.0
MAX_PROJECTS = 200


class ProjectService:
    def __init__(self, repo: ProjectRepository, chat_repo: ChatRepository, servers: ServerRegistry,
                 default_folder: Callable[[], Path]) -> None:
        self.repo = repo
        self._chat_repo = chat_repo
        self._servers = servers
        self._default_folder = default_folder
        self._branches: dict[tuple[str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def check_directory(self, directory: Any, server: str) -> str:
        """The folder a new session may work in, or ProjectError. On this computer (the spawned
        server, or an attached one on a loopback address) it must exist and be a folder; on
        another machine only its spelling can be checked here."""
        target = self._servers.get(server)
        if target is self._servers.supervisor or getattr(target, "is_loopback", False):
            return check_local_folder(directory)
        return check_spelling(directory)

    def default_directory(self) -> str:
        folder = self._default_folder()
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)

    def used(self, server: str, directory: str) -> None:
        self.repo.touch(server or LOCAL, directory)

    def list(self) -> list[dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}

        def note(server: str, path: str | None, used_at: float, source: str) -> None:
            if not path or path == "/":
                return
            key = (server, path)
            entry = found.setdefault(key, {"server": server, "path": path, "used_at": 0.0, "sources": []})
            entry["used_at"] = max(entry["used_at"], used_at or 0.0)
            if source not in entry["sources"]:
                entry["sources"].append(source)

        for server_id in self._servers.ids():
            client = self._servers.client(server_id)
            if client is None:
                continue
            try:
                projects = client.json("GET", "/project", timeout=3.0) or []
            except OpenCodeError as exc:
                log.info("could not list the projects of server %s: %s", server_id, exc)
                continue
            for project in projects:
                times = project.get("time") or {}
                note(server_id, project.get("worktree"), (times.get("updated") or times.get("created") or 0) / 1000,
                     "opencode")
        for row in self.repo.all():
            note(row["server"], row["path"], row["used_at"], "added")
        counts = self._chat_repo.project_counts()
        for (server, path) in counts:
            note(server, path, 0.0, "sessions")
        default = str(self._default_folder())
        note(LOCAL, default, 0.0, "default")
        entries = sorted(found.values(), key=lambda e: e["used_at"], reverse=True)[:MAX_PROJECTS]
        out = []
        for entry in entries:
            active, total = counts.get((entry["server"], entry["path"]), (0, 0))
            out.append({"name": os.path.basename(entry["path"].rstrip("/")) or entry["path"], "path": entry["path"],
                        "server": entry["server"], "server_name": self._servers.name_of(entry["server"]),
                        "branch": self.branch(entry["server"], entry["path"]), "open_sessions": active,
                        "sessions": total, "used_at": entry["used_at"] or None,
                        "default": entry["server"] == LOCAL and entry["path"] == default,
                        "sources": entry["sources"]})
        return out

    def branch(self, server: str, path: str) -> str | None:
        """The VCS branch OpenCode reports for that folder (cached for a few seconds)."""
        key = (server, path)
        now = time.monotonic()
        with self._lock:
            cached = self._branches.get(key)
        if cached and now - cached[0] < BRANCH_TTL:
            return cached[1]
        client = self._servers.client(server, path)
        branch = None
        if client is not None:
            try:
                info = client.json("GET", "/vcs", timeout=3.0) or {}
                branch = info.get("branch") if isinstance(info, dict) else None
            except OpenCodeError:
                branch = None
        with self._lock:
            self._branches[key] = (now, branch)
        return branch

    def add(self, directory: Any, server: Any) -> dict[str, Any]:
        server_id = server if isinstance(server, str) and server else LOCAL
        try:
            self._servers.get(server_id)
        except ServerRegistryError as exc:
            raise ProjectError(str(exc), exc.status, exc.code) from exc
        path = self.check_directory(directory, server_id)
        self.repo.touch(server_id, path)
        return next(p for p in self.list() if p["server"] == server_id and p["path"] == path)
