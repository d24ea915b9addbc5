"""No OpenCode is left behind: not when a clean-up step raises, not when the console went
away, not when Nexus is stopped right after OpenCode was restarted under an open terminal."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import psutil
import pytest

from tests.auth_helpers import cookie_header, open_with_setup_token, served_address
from tests.chat_helpers import wait_for_opencode
from tests.runtime_helpers import open_runtime
from tests.wait_helpers import wait_until

pytestmark = pytest.mark.opencode


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_stop_after_a_restart_under_an_open_terminal_stops_opencode(tmp_path: Path, opencode_settings: dict,
                                                                    no_leftover_processes, monkeypatch, make_runtime) -> None:
    monkeypatch.setenv("SHELL", "/bin/sh")
    rt = make_runtime()
    rt.settings.update({**opencode_settings, "server.autostart": True})
    rt.start()
    try:
        wait_for_opencode(rt)
        session = rt.chat.create(title="pty")
        term = rt.workspace.open_terminal(session["id"])
        assert type(term.pty).__name__ == "OpenCodePty"
        rt.supervisor.restart()  # closes the client the terminal holds
        pid = rt.supervisor.pid
        assert pid is not None
        # A clean-up step that raises anyway must not skip the ones after it.
        def broken() -> None:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        monkeypatch.setattr(rt.metrics, "stop", broken)
    finally:
        rt.stop()
    assert _gone(pid), "OpenCode was stopped with Nexus"


def _nexus(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "nexus", *args]


def _configured_home(home: Path, settings: dict, *, setup_done: bool = False) -> dict[str, str]:
    """A data dir with `settings` and no owner (`nexus serve` prints its setup token); the
    environment of a `python -m nexus` child on it."""
    open_runtime(home, settings, owner=False, setup_done=setup_done).stop()
    return {**os.environ, "NEXUS_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def test_sigterm_with_the_console_pipe_gone_still_stops_opencode(tmp_path: Path, opencode_settings: dict) -> None:
    home = tmp_path / "home"
    env = _configured_home(home, opencode_settings)
    proc = subprocess.Popen(_nexus(home, "serve", "--port", "0"), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    opencode = None
    try:
        line = ""
        deadline = time.monotonic() + 30
        while "running at " not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "running at " in line, "nexus started"
        with _http(*served_address(line), timeout=10) as http:
            opencode = _running_pid(http)
        proc.stdout.close()  # the reader of Nexus's console goes away
        proc.stderr.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, "a clean stop, whatever the console"
        wait_until(lambda: _gone(opencode), 10, "OpenCode stopped")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if opencode is not None and not _gone(opencode):
            os.killpg(opencode, signal.SIGKILL)


def _serve(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    """`nexus serve` started: (process, base URL, setup token or "")."""
    proc = subprocess.Popen(_nexus(home, "serve", "--port", "0"), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "running at " in line:
            return (proc, *served_address(line))
    proc.kill()
    raise AssertionError("nexus did not start")


@contextlib.contextmanager
def _http(url: str, token: str, timeout: float) -> Iterator[httpx2.Client]:
    """A client of that Nexus; on a first run it opened the address with the setup token."""
    with httpx2.Client(base_url=url, timeout=timeout, trust_env=False) as http:
        yield open_with_setup_token(http, token) if token else http


def _running_pid(http: httpx2.Client, not_pid: int | None = None) -> int:
    return wait_until(lambda: (status := http.get("/api/server").json())["state"] == "running"
                      and status["pid"] not in (None, not_pid) and status["pid"], 45, "OpenCode running")


def test_without_adoption_opencode_dies_with_a_killed_nexus(tmp_path: Path, opencode_settings: dict) -> None:
    """Linux's parent-death signal, tied to the long-lived launcher thread: a restart asked
    for by a web request (a thread that ends) does not kill OpenCode; a kill -9 of Nexus does."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    home = tmp_path / "home"
    env = _configured_home(home, {**opencode_settings, "server.adopt_after_crash": False}, setup_done=True)
    proc, url, token = _serve(home, env)
    pid = None
    try:
        with _http(url, token, timeout=30) as http:
            first = _running_pid(http)
            # Its own connection, closed after the answer: the thread that served it ends.
            credentials = {**cookie_header(http), **({"X-CSRF-Token": http.headers["X-CSRF-Token"]} if token else {})}
            restarted = httpx2.post(f"{url}/api/server/restart", headers={"Connection": "close", **credentials},
                                    timeout=60, trust_env=False)
            assert restarted.status_code == 200, restarted.text
            pid = _running_pid(http, not_pid=first)
            for _ in range(3):  # round trips after that thread ended: OpenCode still answers
                assert http.get("/api/server").json()["pid"] == pid and not _gone(pid)
                http.get("/api/server/metrics")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        wait_until(lambda: _gone(pid), 15, "OpenCode to die with Nexus")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if pid is not None and not _gone(pid):
            os.killpg(pid, signal.SIGKILL)
        from nexus.server.child_record import ChildRecord

        ChildRecord(home / "opencode.pid").reap()
