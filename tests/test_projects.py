"""Projects, hand-off and several servers against two real `opencode serve` processes (one
spawned by Nexus, one attached by URL with a password) and the fake model provider."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from nexus import websocket_client
from nexus.ui import create_app
from nexus.ui.http_server import WebServer
from tests.auth_helpers import PASSWORD, remember
from tests.chat_helpers import wait_for_opencode
from tests.conftest import OPENCODE_BIN, _rg_dir, as_server_env
from tests.runtime_helpers import open_runtime
from tests.test_chat_api import WsReader as _ChatWsReader
from tests.test_chat_api import deltas, reply_done
from tests.test_workspace_pane import _read_until, _ready, _type, _ws
from tests.wait_helpers import wait_until

pytestmark = pytest.mark.opencode

# Checked at the end of the run to be in no file the tests left behind (tests/conftest.py).
ATTACHED_PASSWORD = remember("attached-server-pw-7731")


class WsReader(_ChatWsReader):
    """The chat stream reader, with a generous wait for its hello on a loaded machine."""

    def __init__(self, url: str) -> None:

        self.ws = websocket_client.connect(url.replace("http://", "ws://") + "/api/chat/stream")
        self.pending = []
        hello = self.next(30)
        assert hello is not None and hello["type"] == "hello"
        self.epoch = hello["epoch"]


def _git_repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    for args in (("init", "-q"), ("add", "-A"), ("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "start")):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    return root


def _serve(env: dict[str, str], cwd: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """A real `opencode serve` Nexus does not start; its URL once it listens."""
    out = log.open("w+")
    proc = subprocess.Popen([str(OPENCODE_BIN), "serve", "--hostname", "127.0.0.1", "--port", "0"], cwd=cwd,
                            env=env, stdout=out, stderr=subprocess.STDOUT)

    def listening() -> str | None:
        assert proc.poll() is None, log.read_text()
        return next((line for line in log.read_text().splitlines() if "listening on http://" in line), None)

    try:
        line = wait_until(listening, 60, "the attached OpenCode server to listen")
    except AssertionError:
        proc.kill()
        raise
    return proc, line.split("listening on ", 1)[1].strip()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, fake_llm) -> Iterator[dict[str, Any]]:
    from tests.fakes.fake_llm import opencode_env

    base = tmp_path_factory.mktemp("projects")
    projects = {name: _git_repo(base / name, {"README.md": f"# {name}\n", f"{name}.txt": f"only in {name}\n"})
                for name in ("alpha", "beta", "gamma", "delta")}
    spawned_env = opencode_env(fake_llm.base_url, str(base / "spawned-state"), _rg_dir(), permission_bash="allow")
    attached_env = {**opencode_env(fake_llm.base_url, str(base / "attached-state"), _rg_dir(),
                                   permission_bash="allow"), "OPENCODE_SERVER_PASSWORD": ATTACHED_PASSWORD}
    attached, attached_url = _serve(attached_env, projects["gamma"], base / "attached.log")
    # The last test stops the attached server and starts another in its place: the one to stop
    # at the end is whatever this dict holds then (stopping the first one leaked the second).
    shared: dict[str, Any] = {"attached": attached}
    rt = open_runtime(base / "data")
    rt.settings.update({"server.binary": str(OPENCODE_BIN), "server.env": as_server_env(spawned_env),
                        "server.workspace": str(projects["alpha"]), "server.autostart": True})
    server = WebServer(create_app(rt), "127.0.0.1", 0).start()
    http = httpx2.Client(base_url=server.url, timeout=30, trust_env=False)
    try:
        rt.start()
        wait_for_opencode(rt, timeout=90)
        http.headers["X-CSRF-Token"] = http.get("/api/auth/session").json()["csrf_token"]
        shared.update({"rt": rt, "url": server.url, "http": http, "projects": projects,
                       "attached_url": attached_url, "base": base})
        yield shared
    finally:
        http.close()
        server.stop()
        rt.stop()
        _stop(shared["attached"])


def _confirm(http: httpx2.Client) -> None:
    """Attaching, changing or detaching a server needs the owner, present: the password typed
    in the last minutes (as for server.url). Confirming signs this local client in."""
    res = http.post("/api/auth/confirm", json={"password": PASSWORD})
    assert res.status_code == 200, res.text
    http.headers["X-CSRF-Token"] = res.json()["csrf_token"]


def _attach(world: dict[str, Any]) -> str:
    http = world["http"]
    listed = [s for s in http.get("/api/servers").json()["servers"] if s["name"] == "Box"]
    if listed:
        return listed[0]["id"]
    _confirm(http)
    created = http.post("/api/servers", json={"name": "Box", "url": world["attached_url"],
                                              "password": ATTACHED_PASSWORD})
    assert created.status_code == 201, created.text
    server_id = created.json()["id"]
    wait_until(lambda: world["rt"].chat.server_engines[server_id].connected.is_set(), 30, "the attached event stream")
    return server_id


# ----- bad input: a clear 4xx, nothing changed --------------------------------------------------

def test_bad_directories_are_refused_and_nothing_is_created(world, tmp_path: Path) -> None:
    http = world["http"]
    before = http.get("/api/sessions", params={"state": "all"}).json()["total"]
    a_file = world["projects"]["alpha"] / "README.md"
    cases = {str(tmp_path / "nope"): "no_such_directory", str(a_file): "not_a_directory",
             "relative/folder": "relative_path", str(world["projects"]["alpha"]) + "/../beta": "dot_dot",
             "": "bad_directory"}
    for directory, code in cases.items():
        answer = http.post("/api/sessions", json={"directory": directory})
        assert answer.status_code == 400, (directory, answer.text)
        assert answer.json()["error"]["code"] == code, answer.json()
        assert answer.json()["error"]["message"]
    assert http.post("/api/sessions", json={"directory": str(tmp_path), "server": "srv_nope"}).status_code == 404
    assert http.get("/api/sessions", params={"state": "all"}).json()["total"] == before
    projects = http.get("/api/projects").json()["projects"]
    assert not any(p["path"].startswith(str(tmp_path)) for p in projects)


def test_unreachable_url_and_wrong_password_attach_nothing(world) -> None:
    http = world["http"]
    _confirm(http)
    before = http.get("/api/servers").json()["servers"]
    with httpx2.Client() as probe:  # a port nothing listens on: bind, note, close
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
        sock.close()
        del probe
    cases = [({"name": "Dead", "url": dead}, "server_unreachable"),
             ({"name": "Wrong", "url": world["attached_url"], "password": "not-it"}, "wrong_password"),
             ({"name": "NoPw", "url": world["attached_url"]}, "wrong_password"),
             ({"name": "Bad", "url": "ftp://x"}, "bad_url"),
             ({"name": "", "url": world["attached_url"]}, "bad_name")]
    for body, code in cases:
        answer = http.post("/api/servers", json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["error"]["code"] == code, answer.json()
    assert http.get("/api/servers").json()["servers"] == before or \
        [s["id"] for s in http.get("/api/servers").json()["servers"]] == [s["id"] for s in before]
    assert not any("not-it" in (world["rt"].secrets.get(n) or "") for n in ("x",))


# ----- projects on the spawned server ------------------------------------------------------------

def test_session_in_project_b_writes_only_there_and_panes_show_b(world) -> None:
    http, rt, projects = world["http"], world["rt"], world["projects"]
    beta = projects["beta"]
    created = http.post("/api/sessions", json={"directory": str(beta), "title": "In beta"})
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["directory"] == str(beta) and session["server"] == "local"
    assert rt.supervisor.client.json("GET", f"/session/{session['engine_ref']}",
                                     params={"directory": str(beta)})["directory"] == str(beta)
    reader = WsReader(world["url"])
    try:
        reader.follow(session["id"])
        assert http.post(f"/api/sessions/{session['id']}/prompt",
                         json={"text": "WRITE:made-here.txt:hello from beta"}).status_code == 202
        reader.until(reply_done, timeout=60)
    finally:
        reader.close()
    # OpenCode announced the new session before Nexus's create call returned: it was not
    # adopted as a second copy (the reply's events were handled after that announcement).
    everything = http.get("/api/sessions", params={"state": "all", "limit": 200}).json()["sessions"]
    assert [s["origin"] for s in everything if s["engine_ref"] == session["engine_ref"]] == ["nexus"]
    assert (beta / "made-here.txt").read_text().strip() == "hello from beta"
    for other in ("alpha", "gamma", "delta"):
        assert not (projects[other] / "made-here.txt").exists()
    files = http.get(f"/api/sessions/{session['id']}/files").json()
    names = {e["name"] for e in files["entries"]} if "entries" in files else {e["name"] for e in files["files"]}
    assert {"beta.txt", "made-here.txt", "README.md"} <= names and "alpha.txt" not in names
    changes = http.get(f"/api/sessions/{session['id']}/changes").json()
    assert [f["path"] for f in changes["files"]] == ["made-here.txt"]
    assert "+hello from beta" in changes["files"][0]["diff"]
    # The terminal (OpenCode's PTY, asked for in beta's folder) starts in beta too.
    term = http.post(f"/api/sessions/{session['id']}/terminals", json={"cols": 200, "rows": 20})
    assert term.status_code == 201 and term.json()["backend"] == "opencode", term.text
    ws = _ws(world["url"], f"/api/terminals/{term.json()['id']}/connect")
    try:
        _ready(ws, prompt=False)
        _type(ws, "pwd; echo mark-$((6*7))\n")
        screen = _read_until(ws, b"mark-42", timeout=60)
        assert str(beta).encode() in screen
    finally:
        ws.close()
        http.delete(f"/api/sessions/{session['id']}/terminals/{term.json()['id']}")
    listed = http.get("/api/sessions", params={"directory": str(beta)}).json()["sessions"]
    assert [s["id"] for s in listed] == [session["id"]]
    project = next(p for p in http.get("/api/projects").json()["projects"] if p["path"] == str(beta))
    assert project["name"] == "beta" and project["server"] == "local"
    assert project["branch"] in ("master", "main") and project["open_sessions"] >= 1


# ----- several servers and hand-off ---------------------------------------------------------------

def test_sessions_started_before_the_server_was_attached_are_caught_up(world) -> None:
    http = world["http"]
    assert not [s for s in http.get("/api/servers").json()["servers"] if s["name"] == "Box"], "attached already"
    with httpx2.Client(base_url=world["attached_url"], auth=("opencode", ATTACHED_PASSWORD), timeout=30,
                       trust_env=False) as other:
        info = other.post("/session", params={"directory": str(world["projects"]["gamma"])},
                          json={"title": "Before Nexus knew"}).json()
        other.post(f"/session/{info['id']}/message", params={"directory": str(world["projects"]["gamma"])},
                   json={"parts": [{"type": "text", "text": "early words"}]}, timeout=120)
    server_id = _attach(world)
    found = wait_until(lambda: [s for s in http.get("/api/sessions").json()["sessions"]
                                if s["engine_ref"] == info["id"]], 10, "the caught-up session")
    assert found[0]["server"] == server_id and found[0]["directory"] == str(world["projects"]["gamma"])
    history = http.get(f"/api/sessions/{found[0]['id']}/messages").json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[0]["parts"][0]["text"] == "early words"


def test_session_started_in_another_client_of_an_attached_server_is_adopted_and_continued(world) -> None:
    http, projects = world["http"], world["projects"]
    server_id = _attach(world)
    servers = {s["id"]: s for s in http.get("/api/servers").json()["servers"]}
    assert servers[server_id]["state"] == "running" and servers["local"]["kind"] == "spawned"
    assert ATTACHED_PASSWORD not in http.get("/api/servers").text
    assert servers[server_id]["pid"] == world["attached"].pid  # on this computer: CPU and memory shown
    assert servers[server_id]["rss_bytes"] > 0
    models = http.get("/api/models", params={"server": server_id}).json()["models"]
    assert [m["id"] for m in models] == ["fake/fake-model"]
    assert "build" in [a["name"] for a in http.get("/api/agents", params={"server": server_id}).json()["agents"]]
    assert http.get("/api/models", params={"server": "srv_nope"}).status_code == 404
    delta = projects["delta"]  # a folder Nexus has never seen
    other = httpx2.Client(base_url=world["attached_url"], auth=("opencode", ATTACHED_PASSWORD), timeout=30,
                          trust_env=False)
    try:
        # What OpenCode's terminal client does: create a session over OpenCode's HTTP API.
        info = other.post("/session", params={"directory": str(delta)}, json={"title": "From the TUI"}).json()
        found = wait_until(lambda: [s for s in http.get("/api/sessions").json()["sessions"]
                                    if s["engine_ref"] == info["id"]], 2.0, "the adopted session (within 2 s)")
        session = found[0]
        assert session["directory"] == str(delta) and session["server"] == server_id
        assert session["origin"] == "adopted" and session["server_name"] == "Box"
        reader = WsReader(world["url"])
        try:
            reader.follow(session["id"])
            # The other client prompts; the reply streams live into Nexus.
            assert other.post(f"/session/{info['id']}/prompt_async", params={"directory": str(delta)},
                              json={"parts": [{"type": "text", "text": "hello from the terminal"}]}
                              ).status_code == 204
            streamed = reader.until(reply_done, timeout=60)
            assert "You said: hello from the terminal" in deltas(streamed)
            # And Nexus continues it.
            assert http.post(f"/api/sessions/{session['id']}/prompt",
                             json={"text": "WRITE:from-nexus.txt:continued in delta"}).status_code == 202
            reader.until(reply_done, timeout=60)
        finally:
            reader.close()
        assert (delta / "from-nexus.txt").read_text().strip() == "continued in delta"
        assert not (projects["gamma"] / "from-nexus.txt").exists()
        texts = [m["info"]["role"] for m in other.get(f"/session/{info['id']}/message",
                                                       params={"directory": str(delta)}).json()]
        assert texts.count("user") == 2  # the other client sees Nexus's prompt too
        history = http.get(f"/api/sessions/{session['id']}/messages").json()["messages"]
        assert [m["role"] for m in history][:2] == ["user", "assistant"] and len(history) >= 4
        project = next(p for p in http.get("/api/projects").json()["projects"]
                       if p["path"] == str(delta) and p["server"] == server_id)
        assert project["server_name"] == "Box" and project["sessions"] == 1
        # Deleting in Nexus only keeps OpenCode's copy (and it is not adopted again).
        assert http.delete(f"/api/sessions/{session['id']}").status_code == 204
        assert other.get(f"/session/{info['id']}", params={"directory": str(delta)}).status_code == 200
    finally:
        other.close()


def test_adopted_sessions_do_not_block_starting_one_in_nexus(world) -> None:
    rt = world["rt"]
    server_id = _attach(world)
    for i in range(3):
        rt.chat.adopt("opencode", server_id, {"id": f"ses_fake_{i}_{time.time_ns()}", "title": f"t{i}",
                                              "directory": str(world["projects"]["gamma"])})
    active_nexus = rt.chat.repo.count_active()
    adopted = [s for s in rt.chat.list(limit=200)[0] if s["origin"] == "adopted"]
    assert len(adopted) >= 3
    assert active_nexus == len([s for s in rt.chat.list(limit=200)[0] if s["origin"] == "nexus"])


def test_adoption_can_be_limited_to_sessions_started_in_nexus(world) -> None:
    http, rt = world["http"], world["rt"]
    server_id = _attach(world)
    assert http.patch("/api/settings", json={"chat.adopt": "nexus"}).status_code == 200
    other = httpx2.Client(base_url=world["attached_url"], auth=("opencode", ATTACHED_PASSWORD), timeout=30,
                          trust_env=False)
    try:
        ignored = other.post("/session", params={"directory": str(world["projects"]["gamma"])},
                             json={"title": "Not for Nexus"}).json()
        engine = rt.chat.server_engines[server_id]
        # The engine has seen it (and set it aside) once it is among the sessions it leaves alone.
        wait_until(lambda: ignored["id"] in engine._foreign, 10, "the engine to consider the session")
        assert rt.chat.repo.find_by_engine_ref("opencode", ignored["id"], include_deleted=True) is None
        assert not [s for s in http.get("/api/sessions").json()["sessions"] if s["engine_ref"] == ignored["id"]]
    finally:
        http.patch("/api/settings", json={"chat.adopt": "all"})
        other.close()
    assert server_id


def test_servers_are_renamed_checked_again_and_deleting_can_reach_opencode(world) -> None:
    http, rt = world["http"], world["rt"]
    server_id = _attach(world)
    _confirm(http)
    wrong = http.patch(f"/api/servers/{server_id}", json={"password": "nope"})
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "wrong_password"
    dead = http.patch(f"/api/servers/{server_id}", json={"url": "http://127.0.0.1:9"})
    assert dead.status_code == 400 and dead.json()["error"]["code"] == "server_unreachable"
    assert rt.servers.get(server_id).url == world["attached_url"]
    assert http.patch("/api/servers/local", json={"name": "x"}).status_code == 400
    renamed = http.patch(f"/api/servers/{server_id}", json={"name": "Box"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Box"
    wait_until(lambda: rt.chat.server_engines[server_id].connected.is_set(), 60, "the rebuilt event stream")
    # Deleting with ?opencode=1 removes OpenCode's copy too (its other clients lose it).
    gamma = world["projects"]["gamma"]
    created = http.post("/api/sessions", json={"directory": str(gamma), "server": server_id, "title": "Doomed"})
    assert created.status_code == 201, created.text
    ref = created.json()["engine_ref"]
    with httpx2.Client(base_url=world["attached_url"], auth=("opencode", ATTACHED_PASSWORD), timeout=30,
                       trust_env=False) as other:
        assert other.get(f"/session/{ref}", params={"directory": str(gamma)}).status_code == 200
        assert http.delete(f"/api/sessions/{created.json()['id']}", params={"opencode": "2"}).status_code == 400
        assert http.delete(f"/api/sessions/{created.json()['id']}", params={"opencode": "1"}).status_code == 204
        assert other.get(f"/session/{ref}", params={"directory": str(gamma)}).status_code == 404


def _codes(http: httpx2.Client, session_id: str) -> dict[tuple[str, str], tuple[int, str | None]]:
    """What the files pane answers to paths it must refuse or cannot show, for one session."""
    gamma = "/".join(["..", "gamma", "gamma.txt"])
    out = {}
    for path in ("..", "../gamma", gamma, "sub/../../gamma/gamma.txt", "/etc/passwd", "/etc", "~", "nope",
                 "README.md", "sub"):
        for what in ("files", "files/content"):
            res = http.get(f"/api/sessions/{session_id}/{what}", params={"path": path})
            out[(what, path)] = (res.status_code, res.json().get("error", {}).get("code"))
    return out


def test_workspace_pane_of_a_session_on_an_attached_server_goes_through_opencode(world) -> None:
    """Files, search and changes of a project on an attached server come from that server's
    OpenCode API (the folder is not assumed to be on this computer), confined like the local
    pane; its terminal is OpenCode's PTY there; running one command stays local-only."""
    from tests.test_workspace_pane import TUNNEL

    http, rt, base = world["http"], world["rt"], world["base"]
    server_id = _attach(world)
    epsilon = _git_repo(base / "epsilon", {"README.md": "# epsilon\n", ".gitignore": "build/\n"})
    (epsilon / "sub").mkdir()
    (epsilon / "sub" / "inner.txt").write_text("inside sub\n")
    (epsilon / "build").mkdir()
    (epsilon / "build" / "out.bin").write_bytes(b"\0\1")
    created = http.post("/api/sessions", json={"directory": str(epsilon), "server": server_id, "title": "On the box"})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    reader = WsReader(world["url"])
    try:
        reader.follow(session_id)
        assert http.post(f"/api/sessions/{session_id}/prompt",
                         json={"text": "WRITE:remote-made.txt:hello from the box"}).status_code == 202
        reader.until(reply_done, timeout=90)
    finally:
        reader.close()
    assert (epsilon / "remote-made.txt").read_text().strip() == "hello from the box"

    counters = rt.servers.get(server_id).client.counters
    asked_before = counters.snapshot()[0]
    tree = http.get(f"/api/sessions/{session_id}/files")
    assert tree.status_code == 200, tree.text
    assert counters.snapshot()[0] > asked_before  # answered by the attached server over HTTP
    entries = {e["name"]: e for e in tree.json()["entries"]}
    assert tree.json()["path"] == "." and not tree.json()["truncated"]
    assert set(entries) == {"build", "sub", ".gitignore", "README.md", "remote-made.txt"}  # .git hidden
    assert [e["name"] for e in tree.json()["entries"]][:2] == ["build", "sub"]  # folders first
    assert entries["build"]["ignored"] is True and entries["build"]["type"] == "dir"
    assert entries["remote-made.txt"] == {"name": "remote-made.txt", "path": "remote-made.txt", "type": "file",
                                          "size": None, "ignored": False}
    inner = http.get(f"/api/sessions/{session_id}/files", params={"path": "sub"}).json()
    assert [(e["path"], e["type"]) for e in inner["entries"]] == [("sub/inner.txt", "file")]
    read = http.get(f"/api/sessions/{session_id}/files/content", params={"path": "sub/inner.txt"}).json()
    # OpenCode sends the text without its final newline; the size is that of the text sent.
    assert read == {"path": "sub/inner.txt", "size": 10, "binary": False, "truncated": False, "text": "inside sub"}
    binary = http.get(f"/api/sessions/{session_id}/files/content", params={"path": "build/out.bin"}).json()
    assert binary["binary"] is True and binary["text"] == "" and binary["size"] == 2
    names = http.get(f"/api/sessions/{session_id}/files/search", params={"q": "made"}).json()
    assert names["files"] == ["remote-made.txt"]
    found = http.get(f"/api/sessions/{session_id}/files/search", params={"q": "FROM THE BOX", "in": "content"})
    assert found.json()["matches"] == [{"path": "remote-made.txt", "line": 1, "text": "hello from the box"}]

    changes = http.get(f"/api/sessions/{session_id}/changes").json()
    assert changes["git"] is True and not changes["truncated"]
    # New since the commit: the agent's file and sub/ (never committed); build/ is ignored.
    assert [(f["path"], f["status"], f["additions"]) for f in changes["files"]] == [
        ("remote-made.txt", "added", 1), ("sub/inner.txt", "added", 1)]
    assert "+hello from the box" in changes["files"][0]["diff"]

    # The same refusals, with the same codes, as the local pane of a session on this computer.
    local = http.post("/api/sessions", json={"directory": str(world["projects"]["alpha"])})
    assert local.status_code == 201, local.text
    (world["projects"]["alpha"] / "sub").mkdir(exist_ok=True)
    remote_codes, local_codes = _codes(http, session_id), _codes(http, local.json()["id"])
    assert remote_codes == local_codes, {k: (remote_codes[k], local_codes[k]) for k in remote_codes
                                         if remote_codes[k] != local_codes[k]}
    assert remote_codes[("files", "..")] == (403, "path_escape")
    assert remote_codes[("files/content", "/etc/passwd")] == (403, "path_escape")
    assert remote_codes[("files/content", "sub/../../gamma/gamma.txt")] == (403, "path_escape")
    assert remote_codes[("files/content", "nope")] == (404, "not_found")
    assert remote_codes[("files", "README.md")] == (400, "not_a_folder")
    assert remote_codes[("files/content", "sub")] == (400, "is_a_folder")

    # A terminal: OpenCode's PTY on that server, in the project folder, without its password.
    refused = httpx2.post(f"{world['url']}/api/sessions/{session_id}/terminals", json={}, headers=TUNNEL,
                          trust_env=False)
    assert refused.status_code in (401, 403)  # the same remote-shell policy as every terminal
    term = http.post(f"/api/sessions/{session_id}/terminals", json={"cols": 200, "rows": 20})
    assert term.status_code == 201 and term.json()["backend"] == "opencode", term.text
    assert term.json()["cwd"] == str(epsilon)
    ws = _ws(world["url"], f"/api/terminals/{term.json()['id']}/connect")
    try:
        _ready(ws, prompt=False)
        _type(ws, "pwd; echo pw=[$OPENCODE_SERVER_PASSWORD] mark-$((6*7))\n")
        screen = _read_until(ws, b"mark-42", timeout=60)
        assert str(epsilon).encode() in screen and b"pw=[] mark-42" in screen
        assert ATTACHED_PASSWORD.encode() not in screen
    finally:
        ws.close()
        assert http.delete(f"/api/sessions/{session_id}/terminals/{term.json()['id']}").status_code == 204
    # Running one command stays on this computer: refused, saying why, before any command is sent.
    run = _ws(world["url"], f"/api/sessions/{session_id}/run")
    try:
        import json

        refusal = json.loads(run.receive(timeout=30))
    finally:
        run.close()
    assert refusal["type"] == "refused" and "only for projects on this computer" in refusal["message"]
    assert "Open a terminal instead" in refusal["message"]


def test_a_server_that_goes_away_marks_its_sessions_unreachable(world, fake_llm) -> None:
    """Last in the module: it stops the attached server and starts it again on the same port."""
    from tests.fakes.fake_llm import opencode_env

    http, rt = world["http"], world["rt"]
    rt.settings.update({"server.health_interval": 0.5, "server.health_failures": 2})
    server_id = _attach(world)
    gamma = world["projects"]["gamma"]
    created = http.post("/api/sessions", json={"directory": str(gamma), "server": server_id})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    _stop(world["attached"])
    wait_until(lambda: http.get(f"/api/sessions/{session_id}").json()["server_state"] == "unreachable", 20,
               "the session to show its server unreachable")
    refused = http.post(f"/api/sessions/{session_id}/prompt", json={"text": "hello"})
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "server_unreachable"
    port = world["attached_url"].rsplit(":", 1)[1]
    env = {**opencode_env(fake_llm.base_url, str(world["base"] / "attached-state"), _rg_dir(),
                          permission_bash="allow"), "OPENCODE_SERVER_PASSWORD": ATTACHED_PASSWORD}
    log = world["base"] / "attached-again.log"
    again = subprocess.Popen([str(OPENCODE_BIN), "serve", "--hostname", "127.0.0.1", "--port", port], cwd=gamma,
                             env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    world["attached"] = again
    # Back (running, or unhealthy: slow health checks on a loaded machine, still usable).
    wait_until(lambda: http.get(f"/api/sessions/{session_id}").json()["reachable"], 150, "the server to come back")
    wait_until(lambda: rt.chat.server_engines[server_id].connected.is_set(), 60, "the event stream again")
    reader = WsReader(world["url"])
    try:
        reader.follow(session_id)
        assert http.post(f"/api/sessions/{session_id}/prompt", json={"text": "back again"}).status_code == 202
        assert "You said: back again" in deltas(reader.until(reply_done, timeout=60))
    finally:
        reader.close()
