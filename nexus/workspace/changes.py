"""The working tree's changes in a workspace, one unified diff per file.

Compared with the last commit (or with nothing, before the first commit), new untracked
files included, so a file the agent just wrote shows up at once. A folder that is not in
a git repository has no changes to show: the answer says so instead of failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nexus.workspace.files import git, in_git_repo

# git's well-known empty tree: what a repository without commits is compared with.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
MAX_DIFF_BYTES = 2 * 1024 * 1024
MAX_UNTRACKED = 200


def working_changes(root: Path) -> dict[str, Any]:
    if not in_git_repo(root):
        return {"git": False, "files": [], "truncated": False,
                "message": "This workspace is not a git repository, so there are no changes to compare."}
    head = git(root, "rev-parse", "--verify", "-q", "HEAD")
    base = "HEAD" if head is not None and head.returncode == 0 else EMPTY_TREE
    # --relative: paths relative to the workspace, which may be a folder inside the repository.
    tracked = git(root, "diff", "--relative", "--no-color", "--no-ext-diff", base, "--", ".")
    text = tracked.stdout.decode("utf-8", "replace") if tracked is not None and tracked.returncode == 0 else ""
    files = _split(text)
    untracked = git(root, "ls-files", "-z", "--others", "--exclude-standard")
    names = [n for n in (untracked.stdout.decode("utf-8", "replace").split("\0") if untracked else []) if n]
    truncated = len(names) > MAX_UNTRACKED or len(text) > MAX_DIFF_BYTES
    for name in sorted(names)[:MAX_UNTRACKED]:
        # --no-index exits 1 when the files differ, which is the point here.
        added = git(root, "diff", "--no-color", "--no-ext-diff", "--no-index", "--", "/dev/null", name)
        if added is not None and added.returncode in (0, 1):
            files.extend(_split(added.stdout.decode("utf-8", "replace"), status="added"))
    files.sort(key=lambda f: f["path"])
    return {"git": True, "files": files, "truncated": truncated, "message": "" if files else "No changes."}


def _split(text: str, status: str | None = None) -> list[dict[str, Any]]:
    """One entry per `diff --git` block: its path, what happened, +/- counts and the text."""
    out: list[dict[str, Any]] = []
    for block in _blocks(text[:MAX_DIFF_BYTES]):
        lines = block.splitlines()
        path = _path_of(lines)
        kind = status or ("added" if any(line.startswith("new file mode") for line in lines[:5]) else
                          "deleted" if any(line.startswith("deleted file mode") for line in lines[:5]) else
                          "renamed" if any(line.startswith("rename from") for line in lines[:5]) else "modified")
        body = [line for line in lines if not line.startswith(("+++", "---"))]
        out.append({"path": path, "status": kind,
                    "additions": sum(1 for line in body if line.startswith("+")),
                    "deletions": sum(1 for line in body if line.startswith("-")),
                    "binary": any(line.startswith("Binary files") for line in lines),
                    "diff": block})
    return out


def _blocks(text: str) -> list[str]:
    blocks: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("diff --git ") or not blocks:
            blocks.append(line)
        else:
            blocks[-1] += line
    return [b for b in blocks if b.startswith("diff --git ")]


def _path_of(lines: list[str]) -> str:
    for line in lines:
        if line.startswith("+++ ") and line[4:].strip() != "/dev/null":
            return line[4:].strip().removeprefix("b/")
    for line in lines:
        if line.startswith("--- ") and line[4:].strip() != "/dev/null":
            return line[4:].strip().removeprefix("a/")
    # No ---/+++ lines (a binary or mode-only change): `diff --git a/x b/x`.
    return lines[0].rsplit(" b/", 1)[-1].strip() if lines else ""
