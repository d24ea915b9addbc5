"""One Nexus per data dir, headless: a second `nexus serve` points at the first and exits;
a desktop launch while a headless Nexus runs opens the browser, signed in once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx2

from tests.desktop_helpers import NEXUS, fake_browser, finish, nexus_env, prepare_home, read_until


def _serve(home: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([*NEXUS, "serve", "--port", "0"], env=nexus_env(home), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    line = read_until(proc, "running at", 60, [])
    return proc, line.split("running at ")[1].split()[0]


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    finish(proc, 30)
    assert proc.returncode == 0


def test_second_serve_prints_the_running_url_and_exits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    prepare_home(home, {"server.autostart": False}, owner=False)
    first, url = _serve(home)
    try:
        lock = json.loads((home / "nexus.lock").read_text())
        assert lock["pid"] == first.pid and lock["url"] == url
        second = subprocess.run([*NEXUS, "serve", "--port", "0"], env=nexus_env(home), capture_output=True,
                                text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert f"already running at {url} (pid {first.pid})" in second.stdout
        assert "running at http" not in second.stdout.replace(f"already running at {url}", "")
        assert httpx2.get(f"{url}/healthz", timeout=5).status_code == 200, "the first one is untouched"
    finally:
        _stop(first)
    assert not (home / "nexus.lock").exists()


def test_a_stale_lock_from_a_crash_does_not_block_a_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    prepare_home(home, {"server.autostart": False}, owner=False)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (home / "nexus.lock").write_text(json.dumps({"pid": int(dead.stdout), "created": 1.0, "token": "t",
                                                 "url": "http://127.0.0.1:9"}))
    proc, url = _serve(home)
    try:
        assert httpx2.get(f"{url}/healthz", timeout=5).status_code == 200
    finally:
        _stop(proc)


def test_desktop_launch_while_headless_opens_a_signed_in_browser(tmp_path: Path) -> None:
    home = tmp_path / "home"
    prepare_home(home, {"server.autostart": False})
    browser, opened = fake_browser(tmp_path)
    first, url = _serve(home)
    try:
        launch = subprocess.run([*NEXUS, "window"], env=nexus_env(home, BROWSER=str(browser)), capture_output=True,
                                text=True, timeout=60)
        assert launch.returncode == 0, launch.stderr
        assert "opened it in your browser" in launch.stdout
        link = opened.read_text()
        assert link.startswith(f"{url}/auth/desktop?token=")
        with httpx2.Client(base_url=url, timeout=5) as client:
            assert client.get("/api/sessions").status_code == 401, "an owner exists: sign-in is needed"
            res = client.get(link)
            assert res.status_code == 303 and res.headers["location"] == "/"
            assert client.get("/api/sessions").status_code == 200, "the link signed this browser in"
    finally:
        _stop(first)
