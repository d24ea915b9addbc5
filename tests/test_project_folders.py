"""Project folders without OpenCode: what may be a project, the home-folder browser, and the
browser's rules through the tunnel (the terminal's)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx2
import pytest

from nexus.projects.folders import ProjectError, browse, check_local_folder
from nexus.runtime import Runtime
from tests.auth_helpers import OWNER, PASSWORD, make_owner, remember

TUNNEL = {"Cf-Connecting-Ip": "203.0.113.9"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "home"
    (root / "code" / "app").mkdir(parents=True)
    (root / "code" / "lib").mkdir()
    (root / ".secret-folder").mkdir()
    (root / "notes.txt").write_text("a file, never listed\n")
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link-out")
    monkeypatch.setenv("HOME", str(root))
    return root


def test_check_local_folder_accepts_folders_and_explains_the_rest(home: Path) -> None:
    assert check_local_folder(str(home / "code" / "app")) == str(home / "code" / "app")
    assert check_local_folder(str(home / "code" / "app") + "/") == str(home / "code" / "app")
    for value, code in ((str(home / "nope"), "no_such_directory"), (str(home / "notes.txt"), "not_a_directory"),
                        ("code/app", "relative_path"), (f"{home}/code/../code/app", "dot_dot"), ("", "bad_directory"),
                        (None, "bad_directory"), (f"{home}/a\x00b", "bad_directory")):
        with pytest.raises(ProjectError) as error:
            check_local_folder(value)
        assert error.value.code == code and error.value.status == 400, value


def test_browse_lists_folders_only_and_never_leaves_home(home: Path) -> None:
    top = browse(None)
    assert top["path"] == str(home) and top["parent"] is None
    assert [f["name"] for f in top["folders"]] == ["code"]  # no file, no hidden folder, no link out of home
    inner = browse(str(home / "code"))
    assert [f["name"] for f in inner["folders"]] == ["app", "lib"] and inner["parent"] == str(home)
    for outside in (str(home.parent / "outside"), str(home / "link-out"), f"{home}/../outside", "/"):
        with pytest.raises(ProjectError) as error:
            browse(outside)
        assert error.value.status == 403 and error.value.code == "outside_home", outside
    with pytest.raises(ProjectError) as missing:
        browse(str(home / "nope"))
    assert missing.value.status == 404


@pytest.fixture
def live_folders(home: Path, make_runtime, serve_runtime) -> tuple[str, Runtime]:
    rt = make_runtime({"server.autostart": False, "server.workspace": str(home / "code" / "app")})
    server = serve_runtime(rt)
    rt.start()
    return server.url, rt


def test_the_browser_and_new_folders_follow_the_terminals_rules_through_the_tunnel(live_folders, home: Path) -> None:
    url, rt = live_folders
    with httpx2.Client(base_url=url, timeout=10, trust_env=False) as local:
        local.headers["X-CSRF-Token"] = local.get("/api/auth/session").json()["csrf_token"]
        assert [f["name"] for f in local.get("/api/projects/browse").json()["folders"]] == ["code"]
        added = local.post("/api/projects", json={"directory": str(home / "code" / "lib")})
        assert added.status_code == 201 and added.json()["name"] == "lib"
        assert local.post("/api/projects", json={"directory": "relative"}).json()["error"]["code"] == "relative_path"
    make_owner(rt, login_locally=False)
    remote = httpx2.Client(base_url=url, timeout=10, trust_env=False, headers=TUNNEL)
    try:
        token = remote.get("/api/auth/session").json()["csrf_token"]
        res = remote.post("/api/auth/login", json={"username": OWNER, "password": PASSWORD},
                          headers={"X-CSRF-Token": token})
        remote.headers["X-CSRF-Token"] = res.json()["csrf_token"]
        refused = remote.get("/api/projects/browse")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "remote_terminal_off"
        before = [p["path"] for p in remote.get("/api/projects").json()["projects"]]
        unknown = remote.post("/api/projects", json={"directory": str(home / "code")})
        assert unknown.status_code == 403
        assert [p["path"] for p in remote.get("/api/projects").json()["projects"]] == before
        rt.settings.update({"terminal.remote_enabled": True})
        assert [f["name"] for f in remote.get("/api/projects/browse").json()["folders"]] == ["code"]
    finally:
        remote.close()


def test_an_api_key_through_the_tunnel_cannot_attach_servers(live_folders) -> None:
    url, rt = live_folders
    make_owner(rt, login_locally=False)
    with httpx2.Client(base_url=url, timeout=10, trust_env=False, headers=TUNNEL) as remote:
        token = remote.get("/api/auth/session").json()["csrf_token"]
        res = remote.post("/api/auth/login", json={"username": OWNER, "password": PASSWORD},
                          headers={"X-CSRF-Token": token})
        csrf = res.json()["csrf_token"]
        # The strongest key there is: every scope, usable through the tunnel.
        key = remember(remote.post("/api/auth/keys", json={"name": "script", "remote": True,
                                                           "scopes": ["read", "chat", "approve", "admin"]},
                                   headers={"X-CSRF-Token": csrf}).json()["key"])
    with httpx2.Client(base_url=url, timeout=10, trust_env=False,
                       headers={**TUNNEL, "Authorization": f"Bearer {key}"}) as script:
        assert script.get("/api/servers").status_code == 200
        refused = script.post("/api/servers", json={"name": "Evil", "url": "http://10.0.0.1:4096"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "needs_session"
        assert [s["id"] for s in script.get("/api/servers").json()["servers"]] == ["local"]
