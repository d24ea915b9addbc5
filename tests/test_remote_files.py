"""The remote file source never trusts OpenCode's answers: a server (confused, or not OpenCode
at all) that answers with paths outside the project folder gets them dropped, and oversized or
garbled answers get clear errors. The server here is a real HTTP server on 127.0.0.1 that
answers like a hostile OpenCode; the client is Nexus's real one. The behaviour against the
real OpenCode is in tests/test_projects.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest

from nexus.server.client import OpenCodeClient
from nexus.servers.scoped import DirectoryClient
from nexus.workspace.confine import PathEscapeError
from nexus.workspace.files import FileError
from nexus.workspace.remote_files import MAX_ANSWER_BYTES, RemoteFiles, RemoteWorkspace

ROOT = "/srv/project"

HOSTILE: dict[str, Any] = {
    "/file": [
        {"name": "ok.txt", "path": "ok.txt", "absolute": f"{ROOT}/ok.txt", "type": "file", "ignored": False},
        {"name": "dir", "path": "dir/", "absolute": f"{ROOT}/dir", "type": "directory", "ignored": True},
        {"name": ".git", "path": ".git/", "absolute": f"{ROOT}/.git", "type": "directory", "ignored": False},
        {"name": "passwd", "path": "passwd", "absolute": "/etc/passwd", "type": "file", "ignored": False},
        {"name": "..", "path": "../", "absolute": "/srv", "type": "directory", "ignored": False},
        {"name": "a/b", "path": "a/b", "absolute": f"{ROOT}/a/b", "type": "file", "ignored": False},
        {"name": "odd", "path": "odd", "absolute": f"{ROOT}/odd", "type": "socket", "ignored": False},
        "not an object",
    ],
    "/find/file": ["ok.txt", "../outside/ok.txt", "/etc/ok.txt", "dir/ok.txt", "~/ok.txt"],
    "/find": [
        {"path": {"text": "ok.txt"}, "lines": {"text": "ok line\n"}, "line_number": 3},
        {"path": {"text": "../secret"}, "lines": {"text": "ok secret\n"}, "line_number": 1},
        {"path": {"text": "/etc/shadow"}, "lines": {"text": "ok root\n"}, "line_number": 1},
        {"path": "garbled"},
    ],
    "/project/current": {"vcs": "git", "worktree": ROOT},
    "/vcs/diff": [
        {"file": "ok.txt", "patch": "diff --git a/ok.txt b/ok.txt\n+ok\n", "additions": 1, "deletions": 0,
         "status": "modified"},
        {"file": "../escape.txt", "patch": "+x\n", "additions": 1, "deletions": 0, "status": "added"},
        {"file": "/etc/passwd", "patch": "+x\n", "additions": 1, "deletions": 0, "status": "added"},
        {"file": "weird.bin", "patch": "diff --git a/weird.bin b/weird.bin\nBinary files differ\n",
         "additions": -4, "deletions": "many", "status": "exploded"},
    ],
}


class _Handler(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, Any]] = {}
    seen: ClassVar[list[tuple[str, dict[str, list[str]]]]] = []

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.seen.append((url.path, parse_qs(url.query)))
        answer = self.answers.get(url.path)
        if callable(answer):
            answer = answer(parse_qs(url.query))
        body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.send_response(200 if url.path in self.answers else 500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[tuple[RemoteFiles, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"answers": dict(HOSTILE), "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="hostile-opencode", daemon=True)
    thread.start()
    client = OpenCodeClient(f"http://127.0.0.1:{server.server_address[1]}", timeout=10)
    try:
        yield RemoteFiles(DirectoryClient(client, ROOT), ROOT, "Hostile"), handler
    finally:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_listing_keeps_only_entries_inside_the_folder(hostile) -> None:
    files, handler = hostile
    listed = files.list_dir(".")
    assert [(e["path"], e["type"], e["ignored"]) for e in listed["entries"]] == [
        ("dir", "dir", True), ("ok.txt", "file", False)]
    # Every call named the project folder.
    assert handler.seen and all(q.get("directory") == [ROOT] for _, q in handler.seen)


def test_a_file_outside_is_neither_read_nor_asked_for(hostile) -> None:
    files, handler = hostile
    handler.answers["/file/content"] = {"type": "text", "content": "root:x:0:0"}
    with pytest.raises(FileError) as missing:
        files.read("passwd")  # listed by the server, but as /etc/passwd: not in the folder
    assert missing.value.code == "not_found"
    for bad in ("../x", "/etc/passwd", "dir/../../x", "~/x", "a\x00b"):
        with pytest.raises(PathEscapeError):
            files.read(bad)
    assert not [p for p, _ in handler.seen if p == "/file/content"]
    assert files.read("ok.txt")["text"] == "root:x:0:0"


def test_search_and_changes_drop_paths_outside(hostile) -> None:
    files, _ = hostile
    assert files.search_names("ok") == ["ok.txt", "dir/ok.txt"]
    assert files.search_content("OK") == [{"path": "ok.txt", "line": 3, "text": "ok line"}]
    changes = files.changes()
    assert [(f["path"], f["status"], f["additions"], f["deletions"], f["binary"]) for f in changes["files"]] == [
        ("ok.txt", "modified", 1, 0, False), ("weird.bin", "modified", 0, 0, True)]


def test_changes_of_a_folder_inside_a_repository_are_its_own(hostile) -> None:
    files, handler = hostile
    handler.answers["/project/current"] = {"vcs": "git", "worktree": "/srv"}
    handler.answers["/vcs/diff"] = [
        {"file": "project/in.txt", "patch": "+in\n", "additions": 1, "deletions": 0, "status": "added"},
        {"file": "other/out.txt", "patch": "+out\n", "additions": 1, "deletions": 0, "status": "added"}]
    assert [f["path"] for f in files.changes()["files"]] == ["in.txt"]
    handler.answers["/project/current"] = {"id": "global", "worktree": "/"}
    assert files.changes()["git"] is False


def test_oversized_and_garbled_answers_are_clear_errors(hostile) -> None:
    files, handler = hostile
    handler.answers["/file/content"] = b"{" + b" " * (MAX_ANSWER_BYTES + 10) + b"}"
    with pytest.raises(FileError) as big:
        files.read("ok.txt")
    assert (big.value.code, big.value.status) == ("too_large", 413)
    handler.answers["/file/content"] = b"<html>proxy error</html>"
    with pytest.raises(FileError) as garbled:
        files.read("ok.txt")
    assert garbled.value.code == "server_failed"
    del handler.answers["/find"]  # answered with a 500
    with pytest.raises(FileError) as failed:
        files.search_content("x")
    assert (failed.value.code, failed.value.status) == ("server_failed", 502)


def test_lexical_confinement() -> None:
    space = RemoteWorkspace("/srv/project/")
    assert space.relative("") == "." and space.relative("/srv/project") == "."
    assert space.relative("a/../b/./c") == "b/c" and space.relative("/srv/project/x/y") == "x/y"
    for bad in ("..", "../project2", "/srv/project2/x", "/srv", "//etc", "~", "~root/x"):
        assert not space.contains(bad), bad
    with pytest.raises(FileError):
        RemoteWorkspace("relative/root")


def test_a_server_that_does_not_answer_is_a_503() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    client = OpenCodeClient(f"http://127.0.0.1:{port}", timeout=5)
    try:
        with pytest.raises(FileError) as gone:
            RemoteFiles(DirectoryClient(client, ROOT), ROOT, "Gone").list_dir(".")
    finally:
        client.close()
    assert (gone.value.status, gone.value.code) == (503, "server_unreachable")
    assert "Gone" in gone.value.message
