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
