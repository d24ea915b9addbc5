"""The files and changes of a project on an attached OpenCode server, read through OpenCode's
own HTTP API (the folder is on another machine, a container, ...; not on this disk).

The same answers as the local pane (nexus/workspace/files.py, changes.py), with the same
confinement: a path is folded (`..`) and checked against the project folder *before* it is
sent, and every path OpenCode answers with is checked again and dropped when it would leave
the folder, so a confused or hostile server cannot widen what the pane shows. Symlinks cannot
be resolved from here; OpenCode itself neither lists nor reads a link that leaves the project,
and a file is read only after its folder's listing shows it as a file.

What OpenCode does not tell: file sizes in a listing (they are null) and the exact bytes of a
text file (it sends the text without its final newline; the size is that of the text sent).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import posixpath
from collections.abc import Iterator
from typing import Any

from nexus.server.client import OpenCodeError
from nexus.workspace.changes import MAX_DIFF_BYTES
from nexus.workspace.confine import PathEscapeError
from nexus.workspace.files import _HIDDEN, MAX_ENTRIES, MAX_READ_BYTES, SEARCH_LIMIT, Entry, FileError

# The most Nexus downloads for one answer (a file's JSON, a diff): OpenCode sends whole files,
# so a huge one is refused instead of being held in memory.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
_READ_TIMEOUT = 30.0
_REGEX_META = set("\\.+*?()|[]{}^$")


class RemoteWorkspace:
    """Lexical confinement to one absolute POSIX folder on the server."""

    def __init__(self, root: str) -> None:
        if not root.startswith("/"):
            raise FileError("The session's project folder is not an absolute path.", "no_workspace", 404)
        self.root = posixpath.normpath(root).replace("//", "/")

    def relative(self, user_path: str) -> str:
        """The folder-relative spelling of `user_path` ('.' for the root); PathEscapeError
        when it would leave the folder or cannot be a path there."""
        text = user_path or "."
        if "\x00" in text:
            raise PathEscapeError("The path contains a NUL byte")
        if text.startswith("~"):
            raise PathEscapeError(f"{text!r}: a home folder on the server is outside the project")
        folded = posixpath.normpath(text)
        if folded.startswith("/"):
            folded = folded.replace("//", "/")
            if folded == self.root:
                return "."
            if not folded.startswith(self.root + "/"):
                raise PathEscapeError(f"{text!r} is outside the project {self.root}")
            return folded[len(self.root) + 1:]
        if folded == ".." or folded.startswith("../"):
            raise PathEscapeError(f"{text!r} is outside the project {self.root}")
        return folded

    def contains(self, user_path: str) -> bool:
        try:
            self.relative(user_path)
        except PathEscapeError:
            return False
        return True

    def absolute(self, rel: str) -> str:
        return self.root if rel == "." else f"{self.root}/{rel}"


def _join(folder: str, name: str) -> str:
    return name if folder == "." else f"{folder}/{name}"


def _failed(exc: OpenCodeError, server: str) -> FileError:
    if exc.status is None:
        return FileError(f"The OpenCode server {server} did not answer; try again when it is back.",
                         "server_unreachable", 503)
    return FileError(f"The OpenCode server {server} could not answer ({exc.status}).", "server_failed", 502)


class RemoteFiles:
    """The WorkspaceFiles interface over a client bound to the project folder (DirectoryClient)."""

    def __init__(self, client: Any, root: str, server_name: str) -> None:
        self._client = client
        self.workspace = RemoteWorkspace(root)
        self.root = self.workspace.root
        self._server = server_name

    # ----- talking to OpenCode ----------------------------------------------------------------

    @contextlib.contextmanager
    def _asking(self) -> Iterator[None]:
        try:
            yield
        except OpenCodeError as exc:
            raise _failed(exc, self._server) from exc

    def _json(self, path: str, params: dict[str, Any], cap: int = MAX_ANSWER_BYTES) -> Any:
        """OpenCode's JSON answer, or FileError 'too_large' when it is bigger than `cap`."""
        body = bytearray()
        with self._asking(), self._client.stream("GET", path, read_timeout=_READ_TIMEOUT, params=params) as response:
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > cap:
                    raise FileError(f"The answer for {params.get('path') or path!r} is larger than "
                                    f"{cap // (1024 * 1024)} MB; open it in a terminal instead.", "too_large", 413)
        try:
            return json.loads(bytes(body)) if body else None
        except ValueError as exc:
            raise FileError(f"The OpenCode server {self._server} answered with something that is not JSON.",
                            "server_failed", 502) from exc

    def _listing(self, rel: str) -> list[dict[str, Any]]:
        """One folder's entries as OpenCode lists them, only those really inside it."""
        answer = self._json("/file", {"path": rel})
        if not isinstance(answer, list):
            raise FileError(f"The OpenCode server {self._server} listed {rel!r} oddly.", "server_failed", 502)
        expected = self.workspace.absolute(rel)
        inside = []
        for node in answer:
            if not isinstance(node, dict):
                continue
            name, kind, absolute = node.get("name"), node.get("type"), node.get("absolute")
            if not isinstance(name, str) or not name or "/" in name or name in (".", "..") or "\x00" in name:
                continue
            if kind not in ("file", "directory") or not isinstance(absolute, str):
                continue
            if posixpath.normpath(absolute) != posixpath.join(expected, name):
                continue  # OpenCode says it is somewhere else: not shown
            inside.append(node)
        return inside

    def _entry(self, rel: str) -> dict[str, Any] | None:
        """What the parent folder's listing says about `rel` (never '.'); None when absent."""
        parent, name = posixpath.split(rel)
        for node in self._listing(parent or "."):
            if node["name"] == name:
                return node
        return None

    # ----- the WorkspaceFiles interface --------------------------------------------------------

    def list_dir(self, path: str = ".") -> dict[str, Any]:
        rel = self.workspace.relative(path)
        if rel != ".":
            node = self._entry(rel)
            if node is None:
                raise FileError(f"{path!r} does not exist in the workspace.", "not_found", 404)
            if node["type"] != "directory":
                raise FileError(f"{path!r} is a file, not a folder.", "not_a_folder")
        nodes = [n for n in self._listing(rel) if n["name"] not in _HIDDEN]
        nodes.sort(key=lambda n: (n["type"] != "directory", n["name"].lower()))
        truncated = len(nodes) > MAX_ENTRIES
        entries = [Entry(n["name"], _join(rel, n["name"]), "dir" if n["type"] == "directory" else "file", None,
                         bool(n.get("ignored"))).to_json() for n in nodes[:MAX_ENTRIES]]
        return {"path": rel, "entries": entries, "truncated": truncated}

    def read(self, path: str, limit: int = MAX_READ_BYTES) -> dict[str, Any]:
        rel = self.workspace.relative(path)
        node = None if rel == "." else self._entry(rel)
        if rel == "." or (node is not None and node["type"] == "directory"):
            raise FileError(f"{path!r} is a folder.", "is_a_folder")
        if node is None:
            raise FileError(f"{path!r} does not exist in the workspace.", "not_found", 404)
        answer = self._json("/file/content", {"path": rel})
        if not isinstance(answer, dict) or not isinstance(answer.get("content"), str):
            raise FileError(f"{path!r} cannot be read.", "unreadable")
        if answer.get("type") == "binary" or answer.get("encoding") == "base64":
            try:
                data = base64.b64decode(answer["content"], validate=False)
            except (binascii.Error, ValueError):
                data = b""
            return {"path": rel, "size": len(data), "binary": True, "truncated": False, "text": ""}
        data = answer["content"].encode("utf-8")
        binary = b"\0" in data[:8192]
        head = data[:limit]
        return {"path": rel, "size": len(data), "binary": binary, "truncated": len(data) > len(head),
                "text": "" if binary else head.decode("utf-8", "ignore")}

    def search_names(self, query: str, limit: int = SEARCH_LIMIT) -> list[str]:
        """OpenCode's name search is fuzzy; the pane's is a substring, so its answers are
        narrowed to those that contain the query."""
        answer = self._json("/find/file", {"query": query, "dirs": "false", "limit": 200})
        needle = query.lower()
        found: list[str] = []
        for name in answer if isinstance(answer, list) else []:
            if not isinstance(name, str) or name.startswith("/") or not self.workspace.contains(name):
                continue
            rel = self.workspace.relative(name)
            if rel != "." and needle in rel.lower() and rel not in found:
                found.append(rel)
                if len(found) >= limit:
                    break
        return found

    def search_content(self, query: str, limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
        pattern = "(?i)" + "".join("\\" + c if c in _REGEX_META else c for c in query)
        answer = self._json("/find", {"pattern": pattern}, cap=MAX_ANSWER_BYTES)
        hits: list[dict[str, Any]] = []
        for match in answer if isinstance(answer, list) else []:
            try:
                name, text, number = match["path"]["text"], match["lines"]["text"], match["line_number"]
            except (KeyError, TypeError):
                continue
            if not isinstance(name, str) or name.startswith("/") or not self.workspace.contains(name) \
                    or not isinstance(number, int) or not isinstance(text, str):
                continue
            hits.append({"path": self.workspace.relative(name), "line": number, "text": text.rstrip("\n")[:300]})
            if len(hits) >= limit:
                break
        return hits

    # ----- changes ------------------------------------------------------------------------------

    def changes(self) -> dict[str, Any]:
        """The working tree against the last commit (OpenCode's /vcs/diff, mode git: new
        untracked files included), in the shape of nexus.workspace.changes.working_changes."""
        project = self._json("/project/current", {})
        if not isinstance(project, dict) or project.get("vcs") != "git":
            return {"git": False, "files": [], "truncated": False,
                    "message": "This workspace is not a git repository, so there are no changes to compare."}
        # OpenCode names files from the repository's top; the project may be a folder inside it.
        worktree = project.get("worktree")
        prefix = ""
        if isinstance(worktree, str) and worktree.startswith("/") and self.root != posixpath.normpath(worktree):
            inside = RemoteWorkspace(worktree)
            prefix = inside.relative(self.root) + "/" if inside.contains(self.root) else ""
        truncated = False
        try:
            answer = self._json("/vcs/diff", {"mode": "git"}, cap=MAX_DIFF_BYTES * 2)
        except FileError as exc:
            if exc.code != "too_large":
                raise
            answer, truncated = self._json("/vcs/status", {}), True  # the files without their patches
        files: list[dict[str, Any]] = []
        size = 0
        for item in answer if isinstance(answer, list) else []:
            entry = self._change(item, prefix)
            if entry is None:
                continue
            size += len(entry["diff"])
            if size > MAX_DIFF_BYTES:
                truncated = True
                entry["diff"] = ""
            files.append(entry)
        files.sort(key=lambda f: f["path"])
        return {"git": True, "files": files, "truncated": truncated, "message": "" if files else "No changes."}

    def _change(self, item: Any, prefix: str) -> dict[str, Any] | None:
        if not isinstance(item, dict) or not isinstance(item.get("file"), str):
            return None
        name = item["file"]
        if prefix:
            if not name.startswith(prefix):
                return None  # elsewhere in the repository, outside this project
            name = name[len(prefix):]
        if not name or name.startswith("/") or not self.workspace.contains(name):
            return None
        patch: str = item["patch"] if isinstance(item.get("patch"), str) else ""
        status = item.get("status") if item.get("status") in ("added", "deleted", "modified") else "modified"
        return {"path": self.workspace.relative(name), "status": status,
                "additions": _count(item.get("additions")), "deletions": _count(item.get("deletions")),
                "binary": "\nBinary files " in "\n" + patch, "diff": patch}


def _count(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else 0
