"""nexus/startup_gc.py: the collector paused only by `pause()`, resumed once, and never left off
by a start that stops before its services run. Each case runs in a child process, so this
test process's own collector is left as it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import gc, json, sys
from nexus import startup_gc

seen = {}
startup_gc.resume()  # never paused: nothing to do
seen["unpaused"] = [gc.isenabled(), gc.get_freeze_count()]
startup_gc.pause()
seen["paused"] = gc.isenabled()
if sys.argv[1] == "services":
    startup_gc.resume()
else:  # a start that fails after opening: stop() resumes
    from nexus.host.host import Host

    host = Host(sys.argv[2], "127.0.0.1", 0, console_log=False).open()
    seen["open"] = gc.isenabled()
    host.stop()
seen["resumed"] = [gc.isenabled(), gc.get_freeze_count()]
frozen = gc.get_freeze_count()
startup_gc.resume()  # once only
seen["again"] = gc.get_freeze_count() == frozen
print(json.dumps(seen))
"""


def _child(tmp_path: Path, how: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXUS_", "OPENCODE_"))}
    env.update(HOME=str(tmp_path), PATH="/usr/bin:/bin", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-c", CHILD, how, str(tmp_path / "data")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    out: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_resume_freezes_once_and_only_after_a_pause(tmp_path: Path) -> None:
    out = _child(tmp_path, "services")
    assert out["unpaused"] == [True, 0]
    assert out["paused"] is False
    enabled, frozen = out["resumed"]
    assert enabled and frozen > 1000
    assert out["again"]


def test_a_host_stopped_before_its_services_turns_the_collector_back_on(tmp_path: Path) -> None:
    out = _child(tmp_path, "stop")
    assert out["open"] is False
    enabled, frozen = out["resumed"]
    assert enabled and frozen > 1000
