"""The chaos bench's debug hook (nexus/debug_memory.py): off unless its variable is set; when
set, each SIGUSR2 makes `nexus serve` write its thread names, where its native memory is, and
with tracing a tracemalloc snapshot, then goes on serving."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest

from nexus import debug_memory


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[str], str]]]:
    started: list[subprocess.Popen[str]] = []

    def start(**extra: str) -> tuple[subprocess.Popen[str], str]:
        env = {**os.environ, "NEXUS_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1", **extra}
        subprocess.run([sys.executable, "-m", "nexus", "settings", "set", "server.autostart", "false"], env=env,
                       check=True, capture_output=True)
        proc = subprocess.Popen([sys.executable, "-m", "nexus", "serve", "--port", "0"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            match = re.search(r"running at (http://[^\s/]+)", proc.stdout.readline())
            if match:
                return proc, match.group(1)
        raise AssertionError("nexus did not print its URL")

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} was not written"
        time.sleep(0.05)


def test_sigusr2_writes_thread_names_memory_and_a_snapshot_and_nexus_goes_on(serve, tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    proc, url = serve(**{debug_memory.DUMP_ENV: str(dumps), debug_memory.TRACE_ENV: "1"})
    for n in (1, 2):
        proc.send_signal(signal.SIGUSR2)
        _wait_for(dumps / f"threads-{n}.json")
        names = json.loads((dumps / f"threads-{n}.json").read_text())
        assert "MainThread" in names and any(name.startswith("nexus-") for name in names), names
        memory = json.loads((dumps / f"memory-{n}.json").read_text())  # written before the names
        assert memory["smaps_kib"]["[heap]"] > 0 and memory["glibc"]["arenas"], memory
        assert sum(memory["glibc"]["arenas"][0]["free_by_size"].values()) > 0, memory["glibc"]
        assert "unreadable" in memory["pymalloc"] and memory["python_objects"]["dict"] > 0, memory  # traced
        # Nexus's own store is open: its connections show their page cache, schema and statements.
        assert memory["sqlite"]["memory_used"] > 0 and any(c["schema"] > 0 for c in memory["sqlite"]["connections"])
        snapshot = tracemalloc.Snapshot.load(str(dumps / f"snapshot-{n}.pickle"))
        assert any("nexus" in stat.traceback[0].filename for stat in snapshot.statistics("filename"))
    assert dumps.stat().st_mode & 0o777 == 0o700  # what Nexus holds: for its user only
    assert httpx2.get(f"{url}/healthz", timeout=10).json() == {"ok": True}


def test_without_the_variable_nothing_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(debug_memory.DUMP_ENV, raising=False)
    before = signal.getsignal(signal.SIGUSR2)
    assert debug_memory.install_from_env() is False
    assert signal.getsignal(signal.SIGUSR2) is before
    assert not tracemalloc.is_tracing()


def test_native_memory_reads_pymalloc_and_sqlite_in_this_process(tmp_path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(tmp_path / "x.db")
    try:
        conn.execute("CREATE TABLE t (a)")
        memory = debug_memory.native_memory()
        assert memory["pymalloc"]["arenas_allocated_now"] > 0 and memory["pymalloc"]["bytes_in_allocated_blocks"] > 0
        mine = debug_memory.sqlite_connection_memory(conn)
        assert mine is not None and mine["schema"] > 0 and mine in memory["sqlite"]["connections"]
    finally:
        conn.close()
    assert debug_memory.sqlite_connection_memory(conn) is None  # closed: nothing to read, no crash
