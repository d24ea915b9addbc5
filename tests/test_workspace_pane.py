"""The workspace pane's API: files, search, changes, terminals and manual commands, against a
real Nexus (real sockets, real shells on real pseudo-terminals, real git)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import psutil
import pytest
import simple_websocket

from nexus import websocket_client
from nexus.runtime import Runtime
from nexus.ui import create_app
from nexus.ui.http_server import WebServer
from tests.auth_helpers import OWNER, PASSWORD, make_owner
from tests.chat_helpers import wait_for_opencode
from tests.wait_helpers import wait_until

TUNNEL = {"Cf-Connecting-Ip": "203.0.113.9"}
SESSION = "s_ws"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                   check=True, capture_output=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hello')\n")
    (root / "notes.md").write_text("# Notes\nremember the milk\n")
    (root / ".gitignore").write_text("build/\n*.log\n")
    (root / "build").mkdir()
    (root / "debug.log").write_text("noise\n")
    (root / "blob.bin").write_bytes(b"\x00\x01binary")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "start")
    return root


@pytest.fixture
def live_workspace(tmp_path: Path, workspace: Path, no_leftover_processes,
                   monkeypatch: pytest.MonkeyPatch, make_runtime) -> Iterator[tuple[str, Runtime]]:
    # A plain shell with no start-up files: the developer's ~/.bashrc (pyenv hooks, say)
    # is not part of what is tested and can take seconds.
    monkeypatch.setenv("SHELL", "/bin/sh")
    monkeypatch.setenv("HOME", str(tmp_path))
    rt = make_runtime()
    rt.settings.update({"server.autostart": False, "server.workspace": str(workspace)})
    rt.chat.repo.create_session({"id": SESSION, "engine": "opencode", "engine_ref": "ses_x", "title": "W"})
    server = WebServer(create_app(rt), "127.0.0.1", 0).start()
    rt.start()
    try:
        yield server.url, rt
    finally:
        server.stop()
        rt.stop()


@pytest.fixture
def http(live_workspace) -> Iterator[httpx2.Client]:
    url, _ = live_workspace
    with httpx2.Client(base_url=url, timeout=10, trust_env=False) as client:
        client.headers["X-CSRF-Token"] = client.get("/api/auth/session").json()["csrf_token"]
        yield client


def _ws(url: str, path: str, headers: dict[str, str] | None = None) -> websocket_client.Client:
    return websocket_client.connect(url.replace("http://", "ws://") + path, headers=headers)


def _read_until(ws: websocket_client.Client, needle: bytes, timeout: float = 10) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} never arrived; got {seen[-400:]!r}"
        frame = ws.receive(timeout=left)
        if isinstance(frame, bytes):
            seen += frame
    return seen


def _type(ws: websocket_client.Client, text: str) -> None:
    ws.send(json.dumps({"op": "input", "data": text}))


def _resize_and_check(ws: websocket_client.Client, cols: int, rows: int) -> None:
    """The shell sees the new size (the page sends one whenever its pane changes size)."""
    ws.send(json.dumps({"op": "resize", "cols": cols, "rows": rows}))
    # No wait needed: the server applies a connection's messages in order, so the size is set
    # before the shell reads the command below.
    _type(ws, "stty size\n")
    _read_until(ws, f"{rows} {cols}".encode())


def _ready(ws: websocket_client.Client, prompt: bool = True) -> dict[str, Any]:
    """The ready frame; then, like a person, wait for the shell's prompt before typing
    (what is typed before the shell set up its line editor may be dropped)."""
    frame = json.loads(ws.receive(timeout=10))
    assert frame["type"] == "ready"
    if prompt:
        seen = b""
        deadline = time.monotonic() + 10
        while not seen.endswith((b"$ ", b"# ")):
            assert time.monotonic() < deadline, f"no prompt; got {seen[-200:]!r}"
            chunk = ws.receive(timeout=max(0.01, deadline - time.monotonic()))
            seen += chunk if isinstance(chunk, bytes) else b""
    return frame


# ----- files ---------------------------------------------------------------------------------------

def test_tree_marks_ignored_entries_and_hides_git(http) -> None:
    root = http.get(f"/api/sessions/{SESSION}/files").json()
    by_name = {e["name"]: e for e in root["entries"]}
    assert ".git" not in by_name
    assert by_name["build"] == {"name": "build", "path": "build", "type": "dir", "size": None, "ignored": True}
    assert by_name["debug.log"]["ignored"] and not by_name["notes.md"]["ignored"]
    assert [e["name"] for e in root["entries"]][:2] == ["build", "src"]  # folders first
    src = http.get(f"/api/sessions/{SESSION}/files", params={"path": "src"}).json()
    assert src["path"] == "src" and src["entries"][0]["path"] == "src/app.py"


def test_file_content_text_binary_and_errors(http) -> None:
    text = http.get(f"/api/sessions/{SESSION}/files/content", params={"path": "src/app.py"}).json()
    assert text == {"path": "src/app.py", "size": 15, "binary": False, "truncated": False,
                    "text": "print('hello')\n"}
    binary = http.get(f"/api/sessions/{SESSION}/files/content", params={"path": "blob.bin"}).json()
    assert binary["binary"] and binary["text"] == ""
    missing = http.get(f"/api/sessions/{SESSION}/files/content", params={"path": "nope.txt"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    folder = http.get(f"/api/sessions/{SESSION}/files/content", params={"path": "src"})
    assert folder.status_code == 400 and folder.json()["error"]["code"] == "is_a_folder"
    assert http.get("/api/sessions/s_nope/files").status_code == 404


@pytest.mark.parametrize("path", ["../", "../../etc/passwd", "/etc/passwd", "src/../../x", "~/.bashrc",
                                  "link-out/passwd", "bad\x00name"])
def test_path_escapes_are_refused(http, workspace: Path, path: str) -> None:
    (workspace / "link-out").symlink_to("/etc")
    for route in ("files", "files/content"):
        res = http.get(f"/api/sessions/{SESSION}/{route}", params={"path": path})
        assert res.status_code == 403, (route, path, res.text)
        assert res.json()["error"]["code"] == "path_escape"
        assert "root:" not in res.text


def test_search_names_and_content(http) -> None:
    names = http.get(f"/api/sessions/{SESSION}/files/search", params={"q": "APP"}).json()
    assert names["files"] == ["src/app.py"]
    assert http.get(f"/api/sessions/{SESSION}/files/search", params={"q": "noise"}).json()["files"] == []
    content = http.get(f"/api/sessions/{SESSION}/files/search", params={"q": "milk", "in": "content"}).json()
    assert content["matches"] == [{"path": "notes.md", "line": 2, "text": "remember the milk"}]
    # Ignored files are not searched.
    assert http.get(f"/api/sessions/{SESSION}/files/search",
                    params={"q": "noise", "in": "content"}).json()["matches"] == []
    bad = http.get(f"/api/sessions/{SESSION}/files/search", params={"q": " "})
    assert bad.status_code == 400 and "search" in bad.json()["error"]["message"]


# ----- changes -------------------------------------------------------------------------------------

def test_changes_show_modified_and_new_files(http, workspace: Path) -> None:
    assert http.get(f"/api/sessions/{SESSION}/changes").json() == {
        "git": True, "files": [], "truncated": False, "message": "No changes."}
    (workspace / "src" / "app.py").write_text("print('hello')\nprint('bye')\n")
    (workspace / "new.txt").write_text("fresh\n")
    (workspace / "debug.log").write_text("ignored change\n")
    files = http.get(f"/api/sessions/{SESSION}/changes").json()["files"]
    assert [(f["path"], f["status"], f["additions"], f["deletions"]) for f in files] == [
        ("new.txt", "added", 1, 0), ("src/app.py", "modified", 1, 0)]
    assert "+print('bye')" in files[1]["diff"] and files[0]["diff"].startswith("diff --git")


def test_changes_outside_git_say_so(http, live_workspace, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    live_workspace[1].settings.update({"server.workspace": str(plain)})
    body = http.get(f"/api/sessions/{SESSION}/changes").json()
    assert body["git"] is False and body["files"] == [] and "not a git repository" in body["message"]


# ----- terminals -----------------------------------------------------------------------------------

def test_terminal_echo_resize_reconnect_and_close(live_workspace, http, workspace: Path) -> None:
    url, rt = live_workspace
    created = http.post(f"/api/sessions/{SESSION}/terminals", json={"cols": 100, "rows": 30})
    assert created.status_code == 201, created.text
    term = created.json()
    assert term["running"] and Path(term["cwd"]) == workspace
    ws = _ws(url, f"/api/terminals/{term['id']}/connect")
    _ready(ws)
    _type(ws, "echo hel''lo; pwd\n")
    out = _read_until(ws, str(workspace).encode())  # pwd: the shell runs in the workspace
    assert b"hello" in out
    _resize_and_check(ws, 123, 45)
    ws.close()

    # A new connection (a reload) gets the same shell, with what it printed before.
    again = _ws(url, f"/api/terminals/{term['id']}/connect")
    _ready(again, prompt=False)
    _read_until(again, b"hello")
    shell_pid = rt.workspace.terminals.get(term["id"]).pty.pid
    assert psutil.pid_exists(shell_pid)
    listed = http.get(f"/api/sessions/{SESSION}/terminals").json()["terminals"]
    assert [t["id"] for t in listed] == [term["id"]]

    assert http.delete(f"/api/sessions/{SESSION}/terminals/{term['id']}").status_code == 204
    wait_until(lambda: not psutil.pid_exists(shell_pid) or psutil.Process(shell_pid).status() == psutil.STATUS_ZOMBIE,
               5, "the shell ended")
    assert http.get(f"/api/sessions/{SESSION}/terminals").json()["terminals"] == []
    gone = _ws(url, f"/api/terminals/{term['id']}/connect")
    with pytest.raises(simple_websocket.ConnectionClosed):
        while True:
            gone.receive(timeout=5)
    assert gone.close_reason == 4404


def test_several_terminals_and_the_limit(live_workspace, http) -> None:
    ids = [http.post(f"/api/sessions/{SESSION}/terminals", json={}).json()["id"] for _ in range(4)]
    assert len(set(ids)) == 4
    extra = http.post(f"/api/sessions/{SESSION}/terminals", json={})
    assert extra.status_code == 409 and extra.json()["error"]["code"] == "too_many_terminals"
    bad = http.post(f"/api/sessions/{SESSION}/terminals", json={"cols": "wide"})
    assert bad.status_code == 400


def test_terminals_close_when_the_session_is_archived(live_workspace, http) -> None:
    url, rt = live_workspace
    term = http.post(f"/api/sessions/{SESSION}/terminals", json={}).json()
    shell = psutil.Process(rt.workspace.terminals.get(term["id"]).pty.pid)
    ws = _ws(url, f"/api/terminals/{term['id']}/connect")
    _ready(ws)
    _type(ws, "sleep 300 &\n")  # a background job must go with the shell
    jobs = wait_until(lambda: [p for p in shell.children(recursive=True) if "sleep" in p.name()], 5,
                      "the background job started")
    rt.chat.archive(SESSION)
    assert rt.workspace.terminals.list(SESSION) == []
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in [shell, *jobs])
    texts = []
    with pytest.raises(simple_websocket.ConnectionClosed):
        while True:
            frame = ws.receive(timeout=5)
            if isinstance(frame, str):
                texts.append(json.loads(frame))
    assert texts[-1]["type"] == "exit"


def test_shell_exit_ends_the_connection(live_workspace, http) -> None:
    url, _ = live_workspace
    term = http.post(f"/api/sessions/{SESSION}/terminals", json={}).json()
    ws = _ws(url, f"/api/terminals/{term['id']}/connect")
    _ready(ws)
    _type(ws, "exit 3\n")
    last = None
    with pytest.raises(simple_websocket.ConnectionClosed):
        while True:
            frame = ws.receive(timeout=5)
            if isinstance(frame, str):
                last = json.loads(frame)
    assert last == {"type": "exit", "code": 3}
    assert http.get(f"/api/sessions/{SESSION}/terminals").json()["terminals"] == []


# ----- manual commands -----------------------------------------------------------------------------

def _run(url: str, command: str, stop_after: bytes | None = None) -> tuple[str, dict[str, Any]]:
    ws = _ws(url, f"/api/sessions/{SESSION}/run")
    ws.send(json.dumps({"op": "run", "command": command}))
    output = ""
    while True:
        frame = json.loads(ws.receive(timeout=20))
        if frame["type"] == "output":
            output += frame["data"]
            if stop_after and stop_after.decode() in output:
                ws.send(json.dumps({"op": "stop"}))
        elif frame["type"] == "done":
            return output, frame


def test_manual_command_runs_in_the_workspace(live_workspace, workspace: Path) -> None:
    output, done = _run(live_workspace[0], "ls src; echo oops >&2; exit 4")
    assert "app.py" in output and "oops" in output
    assert done["exit_code"] == 4 and done["summary"].startswith("Exited with code 4")


def test_manual_command_can_be_stopped(live_workspace) -> None:
    started = time.monotonic()
    output, done = _run(live_workspace[0], "echo started; sleep 60", stop_after=b"started")
    assert done["cancelled"] and done["exit_code"] is None and done["summary"] == "Stopped by the user."
    assert time.monotonic() - started < 10


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_manual_command_ends_when_its_page_goes(live_workspace, tmp_path: Path) -> None:
    url, rt = live_workspace
    pid_file = tmp_path / "command.pid"
    ws = _ws(url, f"/api/sessions/{SESSION}/run")
    ws.send(json.dumps({"op": "run", "command": f"echo $$ > {pid_file}; echo started; exec sleep 60"}))
    output = ""
    while "started" not in output:
        frame = json.loads(ws.receive(timeout=20))
        assert frame["type"] == "output", frame
        output += frame["data"]
    pid = int(pid_file.read_text())
    assert rt.workspace.manual_commands_running() == 1 and not _gone(pid)
    ws.close()
    wait_until(lambda: _gone(pid), 15, "the command stopped when the page went")
    wait_until(lambda: rt.workspace.manual_commands_running() == 0, 15, "the workspace let the command go")


def test_stopping_the_workspace_stops_its_manual_commands(live_workspace, tmp_path: Path) -> None:
    from nexus.errors import ServiceError

    _, rt = live_workspace
    pid_file = tmp_path / "command.pid"
    command = rt.workspace.manual_command(SESSION)
    assert command.folder == rt.workspace.folder_for(SESSION)
    command.start(f"echo $$ > {pid_file}; exec sleep 60")
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip() != "", 15, "the command started")
    pid = int(pid_file.read_text())
    rt.workspace.stop()  # what Runtime.stop() does on the way out
    assert command.finished and command.outcome()["cancelled"], command.outcome()
    assert _gone(pid) and rt.workspace.manual_commands_running() == 0
    with pytest.raises(ServiceError) as refused:
        rt.workspace.manual_command(SESSION).start("echo too late")
    assert refused.value.status == 503


# ----- through the tunnel ----------------------------------------------------------------------------

def _remote_login(url: str) -> httpx2.Client:
    client = httpx2.Client(base_url=url, timeout=10, trust_env=False, headers=TUNNEL)
    token = client.get("/api/auth/session").json()["csrf_token"]
    res = client.post("/api/auth/login", json={"username": OWNER, "password": PASSWORD},
                      headers={"X-CSRF-Token": token})
    assert res.status_code == 200, res.text
    client.headers["X-CSRF-Token"] = res.json()["csrf_token"]
    return client


def _refusal(url: str, path: str, headers: dict[str, str]) -> tuple[int | None, str]:
    ws = _ws(url, path, headers)
    with pytest.raises(simple_websocket.ConnectionClosed):
        while True:
            ws.receive(timeout=5)
    return ws.close_reason, ws.close_message


def test_tunnel_without_sign_in_cannot_open_a_terminal(live_workspace, http) -> None:
    url, rt = live_workspace
    make_owner(rt, login_locally=False)
    term = http.post(f"/api/sessions/{SESSION}/terminals", json={}).json()
    with pytest.raises(Exception) as refused:  # the handshake itself gets 401
        _ws(url, f"/api/terminals/{term['id']}/connect", TUNNEL)
    assert "401" in str(refused.value) or isinstance(refused.value, (ConnectionError, simple_websocket.ConnectionError))
    res = httpx2.post(f"{url}/api/sessions/{SESSION}/terminals", json={}, headers=TUNNEL, trust_env=False)
    assert res.status_code in (401, 403)


def test_tunnel_signed_in_is_refused_while_remote_terminals_are_off(live_workspace, http) -> None:
    url, rt = live_workspace
    make_owner(rt, login_locally=False)
    term = http.post(f"/api/sessions/{SESSION}/terminals", json={}).json()
    remote = _remote_login(url)
    try:
        cookie = "; ".join(f"{k}={v}" for k, v in remote.cookies.items())
        headers = {**TUNNEL, "Cookie": cookie}
        code, reason = _refusal(url, f"/api/terminals/{term['id']}/connect", headers)
        assert code == 4403 and "switched off for remote devices" in reason
        code, reason = _refusal(url, f"/api/sessions/{SESSION}/run", headers)
        assert code == 4403
        res = remote.post(f"/api/sessions/{SESSION}/terminals", json={})
        assert res.status_code == 403 and res.json()["error"]["code"] == "remote_terminal_off"
        # Files stay readable remotely; only shells are off.
        assert remote.get(f"/api/sessions/{SESSION}/files").status_code == 200

        # Turning remote terminals on is for the computer itself, not for a remote sign-in.
        res = remote.patch("/api/settings", json={"terminal.remote_enabled": True})
        assert res.status_code == 403 and res.json()["error"]["code"] == "local_only"
        assert rt.settings["terminal.remote_enabled"] is False
        # On this computer the owner confirms the password first (a security change).
        res = http.patch("/api/settings", json={"terminal.remote_enabled": True})
        assert res.status_code == 403 and res.json()["error"]["code"] == "password_confirmation_required"
        confirmed = http.post("/api/auth/confirm", json={"password": PASSWORD})
        assert confirmed.status_code == 200, confirmed.text
        http.headers["X-CSRF-Token"] = confirmed.json()["csrf_token"]
        assert http.patch("/api/settings", json={"terminal.remote_enabled": True}).status_code == 200
        ws = _ws(url, f"/api/terminals/{term['id']}/connect", headers)
        _ready(ws)
        _type(ws, "echo remote-ok\n")
        _read_until(ws, b"remote-ok")
        ws.close()
    finally:
        remote.close()


# ----- OpenCode sessions: OpenCode's own PTY, proxied ----------------------------------------------

@pytest.mark.opencode
def test_opencode_session_gets_opencodes_pty_through_nexus(tmp_path: Path, opencode_settings: dict,
                                                           no_leftover_processes, monkeypatch, make_runtime) -> None:
    monkeypatch.setenv("SHELL", "/bin/sh")
    monkeypatch.setenv("HOME", str(tmp_path))
    rt = make_runtime()
    rt.settings.update({**opencode_settings, "server.autostart": True})
    server = WebServer(create_app(rt), "127.0.0.1", 0).start()
    rt.start()
    try:
        wait_for_opencode(rt)
        session = rt.chat.create(title="PTY")
        with httpx2.Client(base_url=server.url, timeout=10, trust_env=False) as http:
            http.headers["X-CSRF-Token"] = http.get("/api/auth/session").json()["csrf_token"]
            term = http.post(f"/api/sessions/{session['id']}/terminals", json={"cols": 90, "rows": 20}).json()
            assert term["backend"] == "opencode", term
            ref = rt.workspace.terminals.get(term["id"]).pty.ref
            assert [p["id"] for p in rt.supervisor.client.json("GET", "/pty")] == [ref]
            ws = _ws(server.url, f"/api/terminals/{term['id']}/connect")
            _ready(ws, prompt=False)
            # OpenCode starts the user's own shell (whose start-up files may be slow): type at once,
            # the pty keeps the line until the shell reads it.
            _type(ws, "echo via-open''code pw=$OPENCODE_SERVER_PASSWORD.; stty size\n")
            out = _read_until(ws, b"20 90", timeout=30)
            assert b"via-opencode pw=." in out  # OpenCode's password is not in the shell's environment
            password = rt.supervisor.client._basic_auth[1]
            assert password and password.encode() not in out
            _resize_and_check(ws, 111, 33)
            ws.close()
            again = _ws(server.url, f"/api/terminals/{term['id']}/connect")
            _ready(again, prompt=False)
            _read_until(again, b"via-opencode")  # Nexus's scrollback, replayed
            again.close()
            assert http.delete(f"/api/sessions/{session['id']}/terminals/{term['id']}").status_code == 204
            assert rt.supervisor.client.json("GET", "/pty") == []
    finally:
        server.stop()
        rt.stop()
