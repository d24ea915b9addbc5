"""Health checks tell a slow OpenCode from a dead one: a process that answers late while
its CPU time advances is left alone (up to `server.slow_grace`); a frozen one is restarted."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx2

from nexus.server import ServerState
from nexus.server.client import OpenCodeClient
from tests.wait_helpers import wait_until

FAKE = Path(__file__).parent / "fakes" / "busy_server.py"


def test_a_busy_server_is_slow_not_dead_until_its_grace_runs_out(tmp_path: Path, no_leftover_processes,
                                                                  monkeypatch, make_runtime) -> None:
    binary = tmp_path / "opencode"
    binary.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE} \"$@\"\n")
    binary.chmod(0o755)
    workspace = tmp_path / "workspace"
    checks = [0]
    real_health = OpenCodeClient.health

    def counted(self, timeout: float = 2.0):
        checks[0] += 1
        return real_health(self, timeout=timeout)

    monkeypatch.setattr(OpenCodeClient, "health", counted)
    rt = make_runtime()
    try:
        rt.settings.update({"server.binary": str(binary), "server.workspace": str(workspace),
                            "server.autostart": False, "server.protect": False, "server.health_interval": 0.3,
                            "server.health_timeout": 0.3, "server.health_failures": 2, "server.stop_timeout": 1.0,
                            "restart.initial_delay": 0.1})
        sup = rt.supervisor
        rt.start()
        sup.start()
        pid, url = sup.pid, sup.status()["url"]
        httpx2.post(f"{url}/work", timeout=5, trust_env=False)  # one thread spinning: no answers now
        wait_until(lambda: sup.state == ServerState.UNHEALTHY, 20, "the late answers are noticed")
        seen = checks[0]
        # Far more failed checks than `health_failures` (2): a dead server would be gone by now.
        wait_until(lambda: checks[0] >= seen + 10, 30, "ten more health checks ran")
        assert sup.pid == pid and sup.restart_count == 0 and sup.status()["health_failures"] == 0
        assert sup.state == ServerState.UNHEALTHY

        (workspace / "rest").touch()  # the work ends; it answers again
        wait_until(lambda: sup.state == ServerState.RUNNING, 20, "healthy again")
        assert sup.pid == pid

        # Busy for longer than the grace: hung in a loop after all, so restarted.
        (workspace / "rest").unlink()
        rt.settings.update({"server.slow_grace": 1.0})
        httpx2.post(f"{url}/work", timeout=5, trust_env=False)
        wait_until(lambda: sup.pid not in (None, pid) and sup.state == ServerState.RUNNING, 40,
              "restarted once its grace ran out")
        [entry] = sup.history()
        assert entry["reason"] == "unhealthy"
    finally:
        (workspace / "rest").touch()
        rt.stop()
