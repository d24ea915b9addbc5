"""Workspace confinement and the command runner, on real files and real processes."""

from __future__ import annotations

import os
import threading

import psutil
import pytest

from nexus.workspace.commands import run_command
from nexus.workspace.confine import PathEscapeError, Workspace
from tests.wait_helpers import wait_until


@pytest.fixture
def workspace(tmp_path):
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print('hi')\n")
    (tmp_path / "secret.txt").write_text("outside")
    return Workspace(root)


def test_paths_inside_resolve(workspace):
    assert workspace.resolve("src/main.py") == workspace.root / "src" / "main.py"
    assert workspace.resolve(".") == workspace.root
    assert workspace.resolve(str(workspace.root / "src")) == workspace.root / "src"
    assert workspace.resolve("src/../src/new.txt") == workspace.root / "src" / "new.txt"
    assert workspace.relative(workspace.resolve("src/main.py")) == "src/main.py"
    assert workspace.relative(workspace.root) == "."


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "src/../../secret.txt", "~/x", "a\x00b"])
def test_escapes_are_refused(workspace, path):
    with pytest.raises(PathEscapeError):
        workspace.resolve(path)
    assert not workspace.contains(path)


def test_symlinks_pointing_out_are_refused(workspace, tmp_path):
    (workspace.root / "link-file").symlink_to(tmp_path / "secret.txt")
    (workspace.root / "link-dir").symlink_to(tmp_path)
    with pytest.raises(PathEscapeError):
        workspace.resolve("link-file")
    with pytest.raises(PathEscapeError):
        workspace.resolve("link-dir/secret.txt")
    with pytest.raises(PathEscapeError):
        workspace.resolve("link-dir/not-yet-written.txt")


def test_symlink_inside_is_allowed(workspace):
    (workspace.root / "alias").symlink_to(workspace.root / "src")
    assert workspace.resolve("alias/main.py") == workspace.root / "src" / "main.py"


def test_sibling_with_common_prefix_is_outside(tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws-evil").mkdir()
    with pytest.raises(PathEscapeError):
        Workspace(tmp_path / "ws").resolve("../ws-evil/x")


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        Workspace(tmp_path / "nope")


def test_command_output_and_exit_code(workspace):
    result = run_command("echo out; echo err >&2; exit 3", workspace.root)
    assert result.exit_code == 3 and not result.ok
    assert "out" in result.output and "err" in result.output
    assert not (result.truncated or result.timed_out or result.cancelled)
    assert result.summary().startswith("Exited with code 3")


def test_command_runs_in_the_workspace(workspace):
    result = run_command("pwd", workspace.root)
    assert result.output.strip() == str(workspace.root)


def test_output_is_capped_but_drained(workspace):
    result = run_command("head -c 300000 /dev/zero | tr '\\0' x; echo done >&2", workspace.root,
                         output_limit=1000)
    assert result.exit_code == 0
    assert len(result.output) == 1000 and result.truncated


def test_timeout_stops_the_whole_group(workspace):
    result = run_command("sleep 30 & echo $! > child.pid; sleep 30", workspace.root, timeout=0.5)
    assert result.timed_out and result.exit_code is None
    child = int((workspace.root / "child.pid").read_text())
    assert _gone(child)
    assert result.duration < 10


def test_cancel_stops_the_command(workspace):
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    result = run_command("sleep 30", workspace.root, cancel=cancel)
    assert result.cancelled and result.exit_code is None
    assert result.summary() == "Stopped by the user."


def test_background_leftovers_are_stopped_after_exit(workspace):
    result = run_command("sleep 30 & echo $! > bg.pid", workspace.root)
    assert result.exit_code == 0
    assert _gone(int((workspace.root / "bg.pid").read_text()))


def test_streamed_output(workspace):
    seen: list[str] = []
    run_command("echo one; echo two", workspace.root, on_output=seen.append)
    assert "".join(seen) == "one\ntwo\n"


def test_empty_command_is_refused(workspace):
    with pytest.raises(ValueError):
        run_command("  ", workspace.root)


def _gone(pid: int) -> bool:
    """Whether process `pid` ends within 5 s (a zombie has ended); one that does not is killed."""
    def ended() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    try:
        return wait_until(ended, 5, f"process {pid} to end")
    except AssertionError:
        os.kill(pid, 9)
        return False


def test_content_search_without_ripgrep_never_follows_links_out(tmp_path, monkeypatch):
    """The fallback scan (no rg installed) must not read a file a symlink points to outside."""
    from nexus.workspace import files as files_module
    from nexus.workspace.files import WorkspaceFiles

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "id_rsa").write_text("PRIVATE-KEY-MATERIAL outside the workspace\n")
    root = tmp_path / "ws"
    root.mkdir()
    (root / "notes.txt").write_text("PRIVATE-KEY-MATERIAL is a phrase in the notes\n")
    (root / "leak.txt").symlink_to(outside / "id_rsa")
    (root / "linked-dir").symlink_to(outside)
    (root / "inside-alias.txt").symlink_to(root / "notes.txt")
    monkeypatch.setattr(files_module, "ripgrep", lambda: None)
    hits = WorkspaceFiles(Workspace(root)).search_content("private-key-material")
    paths = sorted(h["path"] for h in hits)
    assert paths == ["inside-alias.txt", "notes.txt"], hits  # a link inside the workspace is fine
