"""What `nexus serve` imports before it answers its first request (issue 16: start-up is
mostly imports). A child process opens a Host and starts its services as `nexus serve` does
(instance lock, runtime, app, web server, supervisor...) and gets a 200 from /healthz, then names the modules it holds; what only a
later action needs must not be there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r"""
import http.client, json, sys
from nexus.host.host import Host

host = Host(sys.argv[1], "127.0.0.1", 0, console_log=False).open()  # what `nexus serve` opens: the lock too
try:
    from nexus import debug_memory

    debug_memory.install_from_env()
    host.start_services()  # then starts, before its first request is answered
    conn = http.client.HTTPConnection("127.0.0.1", host.server.port, timeout=10)
    conn.request("GET", "/healthz")
    status = conn.getresponse().status
finally:
    host.stop()
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""

# Imported by a later action, never by the first request: the ORM (Nexus uses Core), Alembic
# (only an existing store that needs migrating), the terminals and what they pull in, the
# tunnel's download and metrics helpers; flask-sock and the WebSocket machinery it pulls in (the
# first WebSocket request imports it, nexus/ui/websocket_view.py); psutil (the metrics sampler
# imports it on its thread; the instance lock reads /proc on Linux); tracemalloc (the chaos bench's
# memory snapshots, nexus/debug_memory.py, only when asked); argon2 (a sign-in or a new password).
NOT_ON_THE_START_PATH = ("sqlalchemy.orm", "alembic", "nexus.workspace.local_pty", "nexus.workspace.opencode_pty",
                         "urllib.request", "tarfile", "statistics",
                         "flask_sock", "simple_websocket", "wsproto", "h11", "psutil", "tracemalloc", "argon2")


@pytest.mark.parametrize("launch", ["first", "later"])
def test_the_first_request_imports_only_what_it_needs(tmp_path: Path, launch: str) -> None:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "OPENCODE_"))}
    env.update(HOME=str(tmp_path), PATH="/usr/bin:/bin")  # no OpenCode binary to autostart
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])

    def run() -> dict:
        done = subprocess.run([sys.executable, "-c", CHILD, str(data_dir)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    if launch == "later":
        run()  # creates the store
    out = run()
    assert out["status"] == 200
    loaded = [m for m in out["modules"] if m in NOT_ON_THE_START_PATH or m.startswith("sqlalchemy.orm.")]
    assert loaded == [], f"imported before the first request: {loaded}"
    assert "sqlalchemy" in out["modules"], "the check ran against a runtime that opened its store"
