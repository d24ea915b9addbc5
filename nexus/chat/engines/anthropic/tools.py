"""The workspace tools the Anthropic engine offers the model, confined to one folder.

Names and input fields follow OpenCode's tools (read, list, grep, write, edit, bash with
filePath / oldString / newString / command), so the chat UI shows both engines' tool calls
and diffs the same way. Every path goes through `Workspace.resolve` (symlinks followed),
every command through `run_command` (own process group, time limit, output cap).
"""

from __future__ import annotations

import difflib
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus.workspace.commands import run_command
from nexus.workspace.confine import PathEscapeError, Workspace

MAX_READ_LINES = 2000
MAX_READ_BYTES = 256 * 1024
MAX_LIST = 500
MAX_MATCHES = 200
SKIP_DIRS = {".git", "node_modules", ".venv", "__pycache__", ".cache"}

# Tools that change something ask the user first (once / always for this session / deny).
NEEDS_PERMISSION = frozenset({"write", "edit", "bash"})


class ToolError(Exception):
    """The call cannot be done; the message goes back to the model (and the UI) as is."""


@dataclass
class ToolOutcome:
    output: str
    title: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


_PATH = {"type": "string", "description": "Path relative to the workspace folder."}

DEFINITIONS: dict[str, dict[str, Any]] = {
    "list": {"description": "List the files and folders in a folder of the workspace (folders end with /).",
             "input_schema": _schema({"path": {**_PATH, "description": "Folder; default the workspace root."}}, [])},
    "read": {"description": "Read a text file, with line numbers. Use offset/limit for long files.",
             "input_schema": _schema({"filePath": _PATH,
                                      "offset": {"type": "integer", "description": "First line (1-based)."},
                                      "limit": {"type": "integer", "description": "Number of lines."}},
                                     ["filePath"])},
    "grep": {"description": "Search text files for a regular expression; returns path:line: text.",
             "input_schema": _schema({"pattern": {"type": "string"},
                                      "path": {**_PATH, "description": "Folder or file; default the root."},
                                      "include": {"type": "string", "description": "File name glob, e.g. *.py"}},
                                     ["pattern"])},
    "write": {"description": "Create or overwrite a file with the given content.",
              "input_schema": _schema({"filePath": _PATH, "content": {"type": "string"}}, ["filePath", "content"])},
    "edit": {"description": "Replace an exact piece of text in a file. oldString must occur exactly once "
                            "unless replaceAll is true.",
             "input_schema": _schema({"filePath": _PATH, "oldString": {"type": "string"},
                                      "newString": {"type": "string"},
                                      "replaceAll": {"type": "boolean"}}, ["filePath", "oldString", "newString"])},
    "bash": {"description": "Run a shell command in the workspace folder; returns its output and exit code.",
             "input_schema": _schema({"command": {"type": "string"},
                                      "timeout": {"type": "number", "description": "Seconds (capped)."},
                                      "description": {"type": "string"}}, ["command"])},
}
ALL_TOOLS = tuple(DEFINITIONS)


def definitions(enabled: list[str] | None) -> list[dict[str, Any]]:
    names = ALL_TOOLS if enabled is None else [n for n in ALL_TOOLS if n in enabled]
    return [{"name": n, **DEFINITIONS[n]} for n in names]


def _diff(rel: str, before: str, after: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{rel}", f"b/{rel}"))


class WorkspaceTools:
    def __init__(self, root: str | os.PathLike[str], *, command_timeout: float = 120.0,
                 output_limit: int = 64 * 1024) -> None:
        self.workspace = Workspace(root)
        self.command_timeout = command_timeout
        self.output_limit = output_limit

    def run(self, name: str, args: dict[str, Any], cancel: threading.Event | None = None,
            on_output: Callable[[str], None] | None = None) -> ToolOutcome:
        handler = getattr(self, f"_{name}", None)
        if name not in DEFINITIONS or handler is None:
            raise ToolError(f"There is no tool named {name!r}.")
        if not isinstance(args, dict):
            raise ToolError("The tool input must be an object.")
        try:
            if name == "bash":
                return self._bash(args, cancel, on_output)
            return handler(args)
        except PathEscapeError as exc:
            raise ToolError(f"Refused: {exc}. Only files inside the workspace can be used.") from exc
        except (UnicodeDecodeError, IsADirectoryError, NotADirectoryError, FileNotFoundError, PermissionError) as exc:
            raise ToolError(_os_words(exc)) from exc

    def _path(self, args: dict[str, Any], key: str, default: str | None = None) -> Path:
        value = args.get(key, default)
        if not isinstance(value, str) or not value:
            raise ToolError(f"{key!r} must be a path.")
        return self.workspace.resolve(value)

    def _list(self, args: dict[str, Any]) -> ToolOutcome:
        folder = self._path(args, "path", ".")
        entries = sorted(folder.iterdir(), key=lambda p: (not p.is_dir(), p.name))
        lines = [p.name + ("/" if p.is_dir() else "") for p in entries[:MAX_LIST]]
        if len(entries) > MAX_LIST:
            lines.append(f"… {len(entries) - MAX_LIST} more")
        rel = self.workspace.relative(folder)
        return ToolOutcome("\n".join(lines) or "(empty folder)", rel, {"count": len(entries)})

    def _read(self, args: dict[str, Any]) -> ToolOutcome:
        path = self._path(args, "filePath")
        raw = path.read_bytes()[:MAX_READ_BYTES]
        if b"\x00" in raw[:8192]:
            raise ToolError(f"{self.workspace.relative(path)} is a binary file.")
        lines = raw.decode("utf-8").splitlines()
        start = max(int(args.get("offset") or 1), 1)
        count = min(max(int(args.get("limit") or MAX_READ_LINES), 1), MAX_READ_LINES)
        chosen = lines[start - 1:start - 1 + count]
        body = "\n".join(f"{n:>5}\t{line}" for n, line in enumerate(chosen, start))
        end = start + len(chosen) - 1
        note = f"\n(lines {start}-{end} of {len(lines)})" if (start > 1 or end < len(lines)) else ""
        return ToolOutcome(body + note, self.workspace.relative(path), {"lines": len(lines)})

    def _grep(self, args: dict[str, Any]) -> ToolOutcome:
        try:
            pattern = re.compile(str(args.get("pattern") or ""))
        except re.error as exc:
            raise ToolError(f"The pattern is not a valid regular expression: {exc}") from exc
        start = self._path(args, "path", ".")
        include = args.get("include") if isinstance(args.get("include"), str) else None
        hits: list[str] = []
        for path in self._walk(start):
            if include and not path.match(include):
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if pattern.search(line):
                    hits.append(f"{self.workspace.relative(path)}:{number}: {line[:300]}")
                    if len(hits) >= MAX_MATCHES:
                        return ToolOutcome("\n".join(hits) + f"\n(first {MAX_MATCHES} matches)", pattern.pattern,
                                           {"matches": len(hits)})
        return ToolOutcome("\n".join(hits) or "No matches.", pattern.pattern, {"matches": len(hits)})

    def _walk(self, start: Path):
        if start.is_file():
            yield start
            return
        for folder, dirs, files in os.walk(start):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(files):
                path = Path(folder) / name
                if self.workspace.contains(path):  # a symlink out of the workspace is skipped
                    yield path

    def _write(self, args: dict[str, Any]) -> ToolOutcome:
        path = self._path(args, "filePath")
        content = args.get("content")
        if not isinstance(content, str):
            raise ToolError("'content' must be text.")
        before = path.read_text(encoding="utf-8") if path.exists() else ""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        rel = self.workspace.relative(path)
        return ToolOutcome(f"Wrote {len(content)} characters to {rel}.", rel,
                           {"diff": _diff(rel, before, content), "filePath": rel})

    def _edit(self, args: dict[str, Any]) -> ToolOutcome:
        path = self._path(args, "filePath")
        old, new = args.get("oldString"), args.get("newString")
        if not isinstance(old, str) or not isinstance(new, str) or not old:
            raise ToolError("'oldString' (not empty) and 'newString' must be text.")
        before = path.read_text(encoding="utf-8")
        count = before.count(old)
        rel = self.workspace.relative(path)
        if count == 0:
            raise ToolError(f"oldString was not found in {rel}; read the file and copy the text exactly.")
        if count > 1 and not args.get("replaceAll"):
            raise ToolError(f"oldString occurs {count} times in {rel}; give more context or set replaceAll.")
        after = before.replace(old, new) if args.get("replaceAll") else before.replace(old, new, 1)
        path.write_text(after, encoding="utf-8")
        return ToolOutcome(f"Edited {rel} ({count if args.get('replaceAll') else 1} replacement).", rel,
                           {"diff": _diff(rel, before, after), "filePath": rel})

    def _bash(self, args: dict[str, Any], cancel: threading.Event | None,
              on_output: Callable[[str], None] | None) -> ToolOutcome:
        command = args.get("command")
        if not isinstance(command, str) or not command.strip():
            raise ToolError("'command' must be a shell command.")
        wanted = args.get("timeout")
        timeout = self.command_timeout
        if isinstance(wanted, (int, float)) and 0 < wanted < timeout:
            timeout = float(wanted)
        result = run_command(command, self.workspace.root, timeout=timeout, output_limit=self.output_limit,
                             cancel=cancel, on_output=on_output)
        output = result.output.rstrip()
        if result.truncated:
            output += f"\n(output cut at {self.output_limit // 1024} KiB)"
        return ToolOutcome(f"{output}\n{result.summary()}".strip(), command,
                           {"exit": result.exit_code, "truncated": result.truncated, "timed_out": result.timed_out})


def _os_words(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "The file is not UTF-8 text."
    name = Path(exc.filename).name if getattr(exc, "filename", None) else "the path"
    words = {FileNotFoundError: "does not exist", IsADirectoryError: "is a folder, not a file",
             NotADirectoryError: "is not a folder", PermissionError: "cannot be read or written (permissions)"}
    return f"{name} {words.get(type(exc), 'cannot be used')}."
