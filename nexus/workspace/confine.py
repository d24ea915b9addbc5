"""Resolve user- or model-supplied paths strictly inside one workspace root.

A path is accepted only if its fully resolved form (every symlink followed, `..` folded)
lies inside the resolved root. Checking the resolved path, not the spelling, is what
stops `../`, absolute paths and symlinks that point outside.
"""

from __future__ import annotations

import os
from pathlib import Path

from nexus.errors import ServiceError


class PathEscapeError(ServiceError, ValueError):
    """The path would leave the workspace (or is not a usable path at all). `str()` says
    which path and why (for logs and the agent's tools); the API says only that it is
    outside, never where the workspace is."""

    status, code = 403, "path_escape"

    def __init__(self, reason: str) -> None:
        super().__init__("That path is outside the session's workspace.")
        self.args = (reason,)


class Workspace:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        resolved = Path(root).expanduser().resolve()
        if not resolved.is_dir():
            raise FileNotFoundError(f"The workspace folder {resolved} does not exist")
        self.root = resolved

    def resolve(self, user_path: str | os.PathLike[str] = ".") -> Path:
        """The absolute path for `user_path` (relative to the root, or absolute inside it)."""
        text = os.fspath(user_path)
        if "\x00" in text:
            raise PathEscapeError("The path contains a NUL byte")
        candidate = Path(text).expanduser() if text.startswith("~") else Path(text)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        # strict=False: a file about to be written may not exist yet, but every existing
        # component (including symlinked folders) is still followed.
        resolved = candidate.resolve(strict=False)
        if resolved != self.root and self.root not in resolved.parents:
            raise PathEscapeError(f"{text!r} is outside the workspace {self.root}")
        return resolved

    def relative(self, path: Path) -> str:
        """The workspace-relative spelling used in tool output and the UI ('.' for the root)."""
        rel = path.relative_to(self.root).as_posix()
        return rel or "."

    def contains(self, user_path: str | os.PathLike[str]) -> bool:
        try:
            self.resolve(user_path)
        except PathEscapeError:
            return False
        return True
