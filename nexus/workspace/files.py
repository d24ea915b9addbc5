"""Browse, read and search the files of one workspace, always through its confinement.

Git-aware when the workspace is (inside) a git repository: ignored entries are marked so
the pane can dim them, and name search skips them. Content search uses ripgrep when it is
installed (it honours .gitignore and is fast on big trees) and a plain scan otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nexus.errors import ServiceError
from nexus.workspace.confine import PathEscapeError, Workspace

MAX_READ_BYTES = 512 * 1024
MAX_ENTRIES = 2000
SEARCH_LIMIT = 200
_GIT_TIMEOUT = 10.0
_HIDDEN = {".git"}
# Folders never worth walking in a name search when git cannot say what is ignored.
_HEAVY = {".git", "node_modules", ".venv", "__pycache__", ".cache"}


class FileError(ServiceError, ValueError):
    """A request about a file that cannot be answered (missing, a folder, not readable)."""

    def __init__(self, message: str, code: str, status: int = 400) -> None:
        super().__init__(message, status, code)


@dataclass(frozen=True)
class Entry:
    name: str
    path: str
    kind: str  # "dir" or "file" (a symlink reports what it points to)
    size: int | None
    ignored: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "type": self.kind, "size": self.size, "ignored": self.ignored}


def git(root: Path, *args: str, input_: bytes | None = None) -> subprocess.CompletedProcess[bytes] | None:
    """Run git in `root`; None when git is missing or the folder is not in a repository."""
    if shutil.which("git") is None:
        return None
    try:
        return subprocess.run(["git", "-C", str(root), *args], input=input_, capture_output=True,
                              timeout=_GIT_TIMEOUT, check=False,
                              env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"})
    except (OSError, subprocess.TimeoutExpired):
        return None


def in_git_repo(root: Path) -> bool:
    result = git(root, "rev-parse", "--is-inside-work-tree")
    return result is not None and result.returncode == 0 and result.stdout.strip() == b"true"


class FileSource(Protocol):
    """What the files pane asks of a session's folder: WorkspaceFiles reads this disk,
    nexus.workspace.remote_files.RemoteFiles asks an attached OpenCode server."""

    def list_dir(self, path: str = ".") -> dict[str, Any]: ...
    def read(self, path: str, limit: int = MAX_READ_BYTES) -> dict[str, Any]: ...
    def search_names(self, query: str, limit: int = SEARCH_LIMIT) -> list[str]: ...
    def search_content(self, query: str, limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]: ...


class WorkspaceFiles:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.root = workspace.root

    def _checked(self, path: str) -> Path:
        resolved = self.workspace.resolve(path or ".")
        if not resolved.exists():
            raise FileError(f"{path!r} does not exist in the workspace.", "not_found", 404)
        return resolved

    def list_dir(self, path: str = ".") -> dict[str, Any]:
        folder = self._checked(path)
        if not folder.is_dir():
            raise FileError(f"{path!r} is a file, not a folder.", "not_a_folder")
        entries: list[tuple[str, Path]] = []
        with os.scandir(folder) as scan:
            for item in scan:
                if item.name in _HIDDEN:
                    continue
                entries.append((item.name, folder / item.name))
        entries.sort(key=lambda e: (not e[1].is_dir(), e[0].lower()))
        truncated = len(entries) > MAX_ENTRIES
        entries = entries[:MAX_ENTRIES]
        rel = self.workspace.relative(folder)
        spelled = [(name, name if rel == "." else f"{rel}/{name}", full) for name, full in entries]
        ignored = self._ignored([p for _, p, _ in spelled])
        out = []
        for name, spelling, full in spelled:
            is_dir = full.is_dir()
            try:
                size = None if is_dir else full.stat().st_size
            except OSError:  # a dangling symlink
                size = None
            out.append(Entry(name, spelling, "dir" if is_dir else "file", size, spelling in ignored).to_json())
        return {"path": rel, "entries": out, "truncated": truncated}

    def _ignored(self, paths: list[str]) -> set[str]:
        if not paths:
            return set()
        result = git(self.root, "check-ignore", "--stdin", "-z", input_="\0".join(paths).encode() + b"\0")
        if result is None or result.returncode not in (0, 1):
            return set()  # not a repository (128): nothing is ignored
        return {p for p in result.stdout.decode("utf-8", "replace").split("\0") if p}

    def read(self, path: str, limit: int = MAX_READ_BYTES) -> dict[str, Any]:
        target = self._checked(path)
        if target.is_dir():
            raise FileError(f"{path!r} is a folder.", "is_a_folder")
        try:
            size = target.stat().st_size
            with target.open("rb") as handle:
                head = handle.read(limit)
        except OSError as exc:
            raise FileError(f"{path!r} cannot be read: {exc.strerror}.", "unreadable") from exc
        binary = b"\0" in head[:8192]
        text = "" if binary else head.decode("utf-8", "replace")
        return {"path": self.workspace.relative(target), "size": size, "binary": binary,
                "truncated": size > len(head), "text": text}

    def search_names(self, query: str, limit: int = SEARCH_LIMIT) -> list[str]:
        needle = query.lower()
        found: list[str] = []
        for rel in self._all_files():
            if needle in rel.lower():
                found.append(rel)
                if len(found) >= limit:
                    break
        return found

    def _all_files(self) -> list[str]:
        listed = git(self.root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        if listed is not None and listed.returncode == 0:
            files = sorted(p for p in listed.stdout.decode("utf-8", "replace").split("\0") if p)
            return [p for p in files if (self.root / p).exists()]
        files = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in _HEAVY)
            base = Path(folder).relative_to(self.root)
            files.extend((base / n).as_posix() for n in sorted(names))
        return files

    def search_content(self, query: str, limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
        rg = ripgrep()
        if rg is not None:
            return self._ripgrep(rg, query, limit)
        return self._scan(query, limit)

    def _ripgrep(self, rg: str, query: str, limit: int) -> list[dict[str, Any]]:
        try:
            result = subprocess.run([rg, "--no-heading", "--line-number", "--null", "--color", "never",
                                     "--fixed-strings", "--ignore-case", "--max-count", "20",
                                     "--max-columns", "300", "--", query, "."],
                                    cwd=self.root, capture_output=True, timeout=_GIT_TIMEOUT * 3, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FileError("The content search took too long; search for something more specific.",
                            "search_failed") from exc
        hits = []
        for line in result.stdout.decode("utf-8", "replace").splitlines():
            name, _, rest = line.partition("\0")
            number, _, text = rest.partition(":")
            if not number.isdigit():
                continue
            hits.append({"path": name.removeprefix("./"), "line": int(number), "text": text[:300]})
            if len(hits) >= limit:
                break
        return hits

    def _scan(self, query: str, limit: int) -> list[dict[str, Any]]:
        needle = query.lower()
        hits = []
        for rel in self._all_files():
            # A symlink (or a file under a symlinked folder) may point out of the workspace:
            # read only what resolves inside it, as ripgrep (which follows no links) would.
            if not self.workspace.contains(rel):
                continue
            try:
                data = self.workspace.resolve(rel).read_bytes()[:MAX_READ_BYTES]
            except OSError:
                continue
            if b"\0" in data[:8192]:
                continue
            for number, text in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                if needle in text.lower():
                    hits.append({"path": rel, "line": number, "text": text[:300]})
                    if len(hits) >= limit:
                        return hits
        return hits


def ripgrep() -> str | None:
    """rg on PATH, or the one the `ripgrep` wheel puts beside this Python."""
    beside = Path(sys.executable).parent / "rg"
    return shutil.which("rg") or (str(beside) if beside.exists() else None)


__all__ = ["Entry", "FileError", "FileSource", "PathEscapeError", "WorkspaceFiles", "git", "in_git_repo", "ripgrep"]
