"""`nexus serve` limits glibc to two malloc arenas (nexus/malloc_arenas.py); the figures that
justify it come from bench/chaos.py's soak. Run in child processes: the limit is per process."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                                reason="glibc's mallopt only")

CALL = "from nexus.malloc_arenas import limit_malloc_arenas; print(limit_malloc_arenas())"


def _run(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", CALL], env=env, capture_output=True, text=True, timeout=60,
                          check=True).stdout.strip()


def test_glibc_takes_the_limit() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _run(env) == "True"


def test_the_environment_still_wins() -> None:
    assert _run({**os.environ, "MALLOC_ARENA_MAX": "4"}) == "False"


@pytest.mark.parametrize("argv", [[], ["window"], ["serve"]])
def test_every_command_that_runs_the_server_limits_arenas_first(argv: list[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The desktop window runs the same server threads as `nexus serve`: both limit arenas,
    and before the server (and so any of its threads) starts."""
    import nexus.desktop.app
    import nexus.host.headless
    import nexus.malloc_arenas
    import nexus.startup_gc
    from nexus.cli import main

    calls: list[str] = []
    monkeypatch.setattr(nexus.malloc_arenas, "limit_malloc_arenas", lambda: calls.append("limit") or True)
    # The collector's pause too comes before the server, and is ended however the command ends.
    monkeypatch.setattr(nexus.startup_gc, "pause", lambda: calls.append("pause"))
    monkeypatch.setattr(nexus.startup_gc, "resume", lambda: calls.append("resume"))
    monkeypatch.setattr(nexus.desktop.app, "run_desktop", lambda *a: calls.append("window") or 0)
    monkeypatch.setattr(nexus.host.headless, "serve", lambda *a: calls.append("serve") or 0)
    assert main(argv) == 0
    assert calls == ["limit", "pause", "serve" if argv == ["serve"] else "window", "resume"]
