"""`nexus` as a user runs it: real subprocesses, real sockets, real signals."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import psutil
import pytest

from tests.wait_helpers import wait_until

NEXUS = [sys.executable, "-m", "nexus"]
SETUP_TOKENS: dict[str, str] = {}  # url -> the setup token `nexus serve` printed with it


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "NEXUS_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def _start(home: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([*NEXUS, *args], env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 30
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"running at (http://[^\s/]+)(/\?token=\S+)?", line)
        if match:
            SETUP_TOKENS[match.group(1)] = (match.group(2) or "").removeprefix("/?token=")
            return proc, match.group(1)
    proc.kill()
    proc.wait()
    raise AssertionError(f"nexus did not print its URL: {''.join(seen)}")


def _settings_set(home: Path, key: str, value: str) -> None:
    subprocess.run([*NEXUS, "settings", "set", key, value], env=_env(home), check=True, capture_output=True)


def test_serve_prints_url_answers_and_stops_cleanly_on_sigterm(tmp_path: Path, opencode_settings: dict) -> None:
    home = tmp_path / "home"
    for key in ("server.binary", "server.workspace"):
        _settings_set(home, key, opencode_settings[key])
    _settings_set(home, "server.env", json.dumps(opencode_settings["server.env"]))
    proc, url = _start(home, "serve", "--port", "0")
    try:
        assert httpx2.get(f"{url}/healthz", timeout=5).json() == {"ok": True}
        wait_until(lambda: httpx2.get(f"{url}/api/server", timeout=5,
                                      params={"token": SETUP_TOKENS[url]}).json()["state"] == "running",
                   30, "autostart to bring OpenCode up")
        children = psutil.Process(proc.pid).children(recursive=True)
        assert any("opencode" in " ".join(c.cmdline()) for c in children)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    for child in children:
        assert not psutil.pid_exists(child.pid) or child.status() == psutil.STATUS_ZOMBIE, "no orphan left behind"
    assert "shutting down" in out


def test_sigint_stops_serve_too(tmp_path: Path) -> None:
    proc, url = _start(tmp_path, "serve", "--port", "0")
    assert httpx2.get(f"{url}/healthz", timeout=5).status_code == 200
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_no_arguments_without_a_display_runs_headless_and_says_so(tmp_path: Path) -> None:
    # Plain `nexus` opens the desktop window; with no display it serves on the default port
    # instead. Whether that port is free here does not matter: the notice comes first.
    env = {k: v for k, v in _env(tmp_path).items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.Popen([*NEXUS], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert "no display" in first and "Running headless" in first
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def test_refuses_non_loopback_host(tmp_path: Path) -> None:
    res = subprocess.run([*NEXUS, "serve", "--host", "0.0.0.0"], env=_env(tmp_path), capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 2
    assert "refusing to listen on 0.0.0.0" in res.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = subprocess.run([*NEXUS, "serve", "--port", str(port)], env=_env(tmp_path), capture_output=True,
                             text=True, timeout=30)
    assert res.returncode == 2
    assert "already in use" in res.stderr


def test_first_start_prints_no_migration_chatter(tmp_path: Path) -> None:
    home = tmp_path / "home"
    proc, _url = _start(home, "serve", "--port", "0")  # a fresh data dir: the store is created now
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert "Running upgrade" not in out and "migrating store" not in out, out


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_that_is_not_one_is_a_clear_error_not_a_traceback(tmp_path: Path, port: str) -> None:
    res = subprocess.run([*NEXUS, "serve", "--port", port], env=_env(tmp_path), capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 2
    assert "give a port from 0 to 65535" in res.stderr
    assert "Traceback" not in res.stderr


def test_corrupt_database_is_refused_and_kept(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    db = tmp_path / "nexus.db"
    db.write_bytes(b"\x00garbage" * 100)
    res = subprocess.run([*NEXUS, "serve", "--port", "0"], env=_env(tmp_path), capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 2
    assert "damaged or is not a database" in res.stderr
    assert db.read_bytes() == b"\x00garbage" * 100


def test_doctor_reports_findings_and_fixes(tmp_path: Path, opencode_bin: str) -> None:
    res = subprocess.run([*NEXUS, "doctor", "--json"], env={**_env(tmp_path), "PATH": "/usr/bin:/bin",
                                                            "HOME": str(tmp_path)},
                         capture_output=True, text=True, timeout=60)
    checks = {c["name"]: c for c in json.loads(res.stdout)}
    assert res.returncode == 1, "a required check fails without OpenCode"
    assert checks["OpenCode"]["ok"] is False and "npm install -g opencode-ai" in checks["OpenCode"]["fix"]
    assert checks["Python"]["ok"] and checks["Data dir"]["ok"] and checks["Store"]["ok"]
    assert "Keyring" in checks and "Chromium (tests only)" in checks

    _settings_set(tmp_path, "server.binary", opencode_bin)
    res = subprocess.run([*NEXUS, "doctor"], env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert "[ok  ] OpenCode: 1.18.33" in res.stdout
    assert res.returncode == 0


def test_settings_command_validates(tmp_path: Path) -> None:
    res = subprocess.run([*NEXUS, "settings", "set", "restart.max_attempts", "zero"], env=_env(tmp_path),
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 2 and "must be a whole number" in res.stderr
    res = subprocess.run([*NEXUS, "settings", "get", "restart.max_attempts"], env=_env(tmp_path),
                         capture_output=True, text=True, timeout=30)
    assert res.stdout.strip() == "5"
