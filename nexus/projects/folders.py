"""What may be a project folder, and browsing the owner's home for one (folders only)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nexus.errors import ServiceError
from nexus.workspace.confine import PathEscapeError, Workspace

MAX_BROWSE = 500


class ProjectError(ServiceError):
    def __init__(self, message: str, status: int = 400, code: str = "bad_directory") -> None:
        super().__init__(message, status, code)


def check_spelling(value: Any) -> str:
    """An absolute path without `..` (the part that can be checked for any server)."""
    if not isinstance(value, str) or not value.strip():
        raise ProjectError("'directory' must be a folder's absolute path.")
    if "\x00" in value or len(value) > 4096:
        raise ProjectError("That is not a usable path.")
    if not os.path.isabs(value):
        raise ProjectError(f"{value!r} is a relative path: give the folder's absolute path.", code="relative_path")
    if ".." in Path(value).parts:
        raise ProjectError("The path may not contain '..': give the folder's real absolute path.", code="dot_dot")
    return os.path.normpath(value)


def check_local_folder(value: Any) -> str:
    """An existing folder on this computer, spelled absolute, without `..`."""
    path = check_spelling(value)
    if not os.path.exists(path):
        raise ProjectError(f"The folder {path} does not exist.", code="no_such_directory")
    if not os.path.isdir(path):
        raise ProjectError(f"{path} is a file, not a folder.", code="not_a_directory")
    return path


def browse(path: str | None, home: Path | None = None) -> dict[str, Any]:
    """The sub-folders of `path` (default: the home folder), never outside the home folder."""
    root = Workspace(home or Path.home())
    try:
        folder = root.resolve(path or str(root.root))
    except PathEscapeError as exc:
        raise ProjectError("Only folders inside your home folder can be browsed.", 403, "outside_home") from exc
    if not folder.is_dir():
        raise ProjectError(f"{folder} is not a folder.", 404, "no_such_directory")
    folders = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=True):
                    continue
                target = Path(entry.path)
                if not root.contains(target):  # a symlink out of the home folder is not offered
                    continue
                folders.append({"name": entry.name, "path": str(target)})
    except PermissionError as exc:
        raise ProjectError(f"{folder} cannot be read.", 403, "unreadable") from exc
    folders.sort(key=lambda f: f["name"].lower())
    parent = str(folder.parent) if folder != root.root else None
    return {"path": str(folder), "parent": parent, "home": str(root.root), "folders": folders[:MAX_BROWSE],
            "truncated": len(folders) > MAX_BROWSE, "git": (folder / ".git").exists()}
