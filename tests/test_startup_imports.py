"""What `nexus serve` imports before it answers its first request (issue 16: start-up is
mostly imports). A child process runs `nexus serve` itself (`nexus.cli.main`: the malloc
limit, the instance lock, the store, the app, the web server, the services) while one of its
threads waits for a 200 from /healthz, names the modules held at that moment and stops the
server with SIGTERM; what only a later action needs must not be there."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r"""
import gc, http.client, json, os, signal, sys, threading, time
from nexus.cli import main

data_dir, port = sys.argv[1], int(sys.argv[2])
seen = {}


def first_request():
    deadline = time.monotonic() + 60
    while "status" not in seen and time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/healthz")
            seen["status"] = conn.getresponse().status
        except OSError:
            time.sleep(0.01)
    seen["modules"] = sorted(sys.modules)
    while signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and time.monotonic() < deadline:
        time.sleep(0.01)  # serve installs its handler just after the server starts answering
    while not gc.isenabled() and time.monotonic() < deadline:
        time.sleep(0.01)  # the collector is back once the services have started (nexus/startup_gc.py)
    seen["gc"] = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
    seen["switch_interval"] = sys.getswitchinterval()
    os.kill(os.getpid(), signal.SIGTERM)


threading.Thread(target=first_request, name="first-request", daemon=True).start()
code = main(["serve", "--port", str(port), "--data-dir", data_dir])
print(json.dumps({"code": code, **seen}))
"""

# Imported by a later action, never by the first request: the ORM (Nexus uses Core), Alembic
# (only an existing store that needs migrating), the terminals and what they pull in, the
# tunnel's download and metrics helpers; flask-sock and the WebSocket machinery it pulls in (the
# first WebSocket request imports it, nexus/ui/websocket_view.py); psutil (the metrics sampler
# imports it on its thread; the instance lock reads /proc on Linux); tracemalloc (the chaos bench's
# memory snapshots, nexus/debug_memory.py, only when asked); argon2 (a sign-in or a new password);
# webbrowser (a second launch hands over); ctypes.util (the malloc limit needs no library search);
# urllib.error (a running tunnel's health checks); zoneinfo (the analytics' days); the PostgreSQL
# dialect (a PostgreSQL store); markdown-it and nh3 (a session page's first paint).
NOT_ON_THE_START_PATH = ("sqlalchemy.orm", "alembic", "nexus.workspace.local_pty", "nexus.workspace.opencode_pty",
                         "urllib.request", "tarfile", "statistics",
                         "flask_sock", "simple_websocket", "wsproto", "h11", "psutil", "tracemalloc", "argon2",
                         "webbrowser", "ctypes.util", "urllib.error", "zoneinfo", "sqlalchemy.dialects.postgresql",
                         "markdown_it", "nh3")


def _serve(tmp_path: Path, data_dir: Path) -> dict:
    """One `nexus serve` in a child, stopped after its first 200: what CHILD saw."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "OPENCODE_"))}
    env.update(HOME=str(tmp_path), PATH="/usr/bin:/bin")  # no OpenCode binary to autostart
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    with socket.socket() as probe:  # a free port for this launch
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run([sys.executable, "-c", CHILD, str(data_dir), str(port)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["code"] == 0 and out.get("status") == 200, out.get("status")
    return out


@pytest.mark.parametrize("launch", ["first", "later"])
def test_the_first_request_imports_only_what_it_needs(tmp_path: Path, launch: str) -> None:
    data_dir = tmp_path / "data"
    if launch == "later":
        _serve(tmp_path, data_dir)  # creates the store
    out = _serve(tmp_path, data_dir)
    loaded = [m for m in out["modules"] if m in NOT_ON_THE_START_PATH or m.startswith("sqlalchemy.orm.")]
    assert loaded == [], f"imported before the first request: {loaded}"
    assert "sqlalchemy" in out["modules"], "the check ran against a runtime that opened its store"


def test_start_up_objects_are_frozen_once_the_services_run(tmp_path: Path) -> None:
    """The collector, off during start-up, is back once the services run, with what start-up
    made (the imported modules: tens of thousands of objects) in the permanent generation."""
    out = _serve(tmp_path, tmp_path / "data")
    assert out["gc"]["enabled"], "the garbage collector stayed off after start-up"
    assert out["gc"]["frozen"] > 20_000, out["gc"]


def test_the_server_hands_the_gil_over_every_millisecond(tmp_path: Path) -> None:
    """A woken sender thread gets the GIL within ~1 ms of a busy reader thread, not Python's
    default 5 ms (a whole flush window of the relay, nexus/ui/live.py)."""
    out = _serve(tmp_path, tmp_path / "data")
    assert out["switch_interval"] <= 0.001, out["switch_interval"]
