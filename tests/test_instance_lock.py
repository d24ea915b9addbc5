"""The single-instance lock file: atomic, owner-only, and a crashed run's lock is taken over."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nexus.host.instance_lock import AlreadyRunning, InstanceLock


def test_acquire_publish_release(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path)
    info = lock.acquire()
    assert info.pid == os.getpid() and len(info.token) >= 40 and info.url == ""
    assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600, "the token is readable by the owner only"
    lock.publish_url("http://127.0.0.1:5555")
    assert stat.S_IMODE(lock.path.stat().st_mode) == 0o600
    seen = InstanceLock(tmp_path).read()
    assert seen is not None and seen.url == "http://127.0.0.1:5555" and seen.token == info.token
    lock.release()
    assert not lock.path.exists()
    assert InstanceLock(tmp_path).read() is None


def test_a_second_holder_is_refused_with_the_first_ones_details(tmp_path: Path) -> None:
    # A real other process holds the lock (its own PID and start time).
    code = ("import sys, time; from nexus.host.instance_lock import InstanceLock; "
            "l = InstanceLock(sys.argv[1]); l.acquire(); l.publish_url('http://127.0.0.1:4242'); "
            "print('held', flush=True); sys.stdin.readline(); l.release()")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AlreadyRunning) as caught:
            InstanceLock(tmp_path).acquire()
        assert caught.value.info.pid == holder.pid and caught.value.info.url == "http://127.0.0.1:4242"
    finally:
        holder.communicate("\n", timeout=10)
    assert not (tmp_path / "nexus.lock").exists(), "the holder removed its lock on the way out"
    InstanceLock(tmp_path).acquire()  # and now it is free


def test_a_crashed_runs_lock_is_taken_over(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = {"pid": int(dead.stdout), "created": 1.0, "token": "old", "url": "http://127.0.0.1:1"}
    (tmp_path / "nexus.lock").write_text(json.dumps(stale))
    info = InstanceLock(tmp_path).acquire()
    assert info.pid == os.getpid() and info.token != "old"
    assert json.loads((tmp_path / "nexus.lock").read_text())["token"] == info.token


def test_a_reused_pid_does_not_count_as_the_old_instance(tmp_path: Path) -> None:
    # The PID is alive (it is our parent) but started at another time than the lock says.
    stale = {"pid": os.getppid(), "created": 12345.0, "token": "old", "url": ""}
    (tmp_path / "nexus.lock").write_text(json.dumps(stale))
    assert InstanceLock(tmp_path).read() is None
    assert InstanceLock(tmp_path).acquire().token != "old"


def test_a_damaged_lock_file_is_taken_over(tmp_path: Path) -> None:
    (tmp_path / "nexus.lock").write_text("{not json")
    assert InstanceLock(tmp_path).acquire().pid == os.getpid()


def test_release_leaves_a_lock_it_does_not_hold(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path)
    lock.acquire()
    other = {"pid": os.getppid(), "created": 0.0, "token": "someone-else", "url": ""}
    lock.path.write_text(json.dumps(other))  # someone replaced it (it is stale for us too)
    lock.release()
    assert lock.path.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux reads /proc instead of importing psutil")
def test_a_process_start_time_agrees_with_psutil_and_a_gone_process_has_none() -> None:
    import psutil

    from nexus.host.instance_lock import _process_started

    # A command name with spaces and parentheses, which sit inside /proc/<pid>/stat's line.
    child = subprocess.Popen([sys.executable, "-c", "import sys; open('/proc/self/comm', 'w').write('a) b (c'); "
                              "print('ready', flush=True); sys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        assert psutil.Process(child.pid).name() == "a) b (c"
        assert _process_started(child.pid) == pytest.approx(psutil.Process(child.pid).create_time(), abs=0.01)
        assert _process_started(os.getpid()) == pytest.approx(psutil.Process().create_time(), abs=0.01)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert _process_started(child.pid) is None
    assert _process_started(0) is None
