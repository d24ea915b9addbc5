"""One Nexus per data dir: a lock file holding the running instance's PID, URL and a token.

A second launch reads the file and talks to the first instance instead of starting a
second supervisor on the same store. The file is created atomically (O_EXCL) with 0600
permissions, because its token lets the holder ask the running Nexus to show its window
and sign a browser in. A lock left by a crashed run (its process is gone, or the PID now
belongs to another program) is taken over.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "nexus.lock"
TOKEN_HEADER = "X-Nexus-Instance"


@dataclass(frozen=True)
class InstanceInfo:
    pid: int
    created: float  # the process's start time: tells a live owner from a reused PID
    token: str
    url: str = ""

    def to_json(self) -> dict[str, object]:
        return {"pid": self.pid, "created": self.created, "token": self.token, "url": self.url}


class AlreadyRunning(RuntimeError):
    def __init__(self, info: InstanceInfo) -> None:
        super().__init__(f"Nexus is already running (pid {info.pid}) at {info.url or 'a URL not yet known'}")
        self.info = info


def _process_started(pid: int) -> float | None:
    """When process `pid` started, in seconds since the epoch; None if there is no such process."""
    if sys.platform.startswith("linux"):
        return _linux_process_started(pid)
    import psutil  # elsewhere only: every start takes the lock, and psutil's import costs ~7 ms

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def _linux_process_started(pid: int) -> float | None:
    """psutil's own computation on Linux (boot time + start in clock ticks since boot), so a
    lock written by either agrees with the other."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # Fields after the command name (which may hold spaces and parentheses); the 22nd
            # field of the line, the start time, is the 20th of them.
            ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/stat", "rb") as f:
            boot = next(float(line.split()[1]) for line in f if line.startswith(b"btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _alive(info: InstanceInfo) -> bool:
    started = _process_started(info.pid)
    return started is not None and abs(started - info.created) < 1.0


class InstanceLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self.info: InstanceInfo | None = None  # set while this process holds the lock

    def read(self) -> InstanceInfo | None:
        """The live holder of the lock, or None (no file, unreadable, or its process is gone)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            info = InstanceInfo(int(raw["pid"]), float(raw["created"]), str(raw["token"]), str(raw.get("url", "")))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return info if _alive(info) else None

    def acquire(self) -> InstanceInfo:
        """Take the lock, or raise AlreadyRunning with the live holder's details."""
        me = os.getpid()
        info = InstanceInfo(me, _process_started(me) or time.time(), secrets.token_urlsafe(32))
        for _ in range(5):
            try:
                self._create(info)
            except FileExistsError:
                holder = self.read()
                if holder is not None and holder.pid != me:
                    raise AlreadyRunning(holder) from None
                self._remove_stale()
                continue
            self.info = info
            return info
        raise AlreadyRunning(self.read() or info)  # another launch kept winning the race

    def publish_url(self, url: str) -> None:
        """Say where this instance listens, once its web server is up."""
        assert self.info is not None, "not holding the lock"
        self.info = InstanceInfo(self.info.pid, self.info.created, self.info.token, url)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(self.info.to_json(), f)
        os.replace(tmp, self.path)  # readers see the old file or the new one, never half of one

    def release(self) -> None:
        if self.info is None:
            return
        current = self.read()
        if current is not None and current.pid == self.info.pid and current.token == self.info.token:
            self.path.unlink(missing_ok=True)
        self.info = None

    def wait_for_url(self, timeout: float = 15.0) -> InstanceInfo | None:
        """The holder's details once it has published its URL (it may be starting right now)."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.read()
            if info is None or info.url or time.monotonic() >= deadline:
                return info
            time.sleep(0.1)

    def _create(self, info: InstanceInfo) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(info.to_json(), f)

    def _remove_stale(self) -> None:
        # Two launches may both find the same stale file: rename it away first, so only one
        # of them deletes it and neither deletes a lock the other has just created.
        aside = self.path.with_name(f"{LOCK_NAME}.stale-{os.getpid()}")
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            return
        try:
            raw = json.loads(aside.read_text(encoding="utf-8"))
            holder = InstanceInfo(int(raw["pid"]), float(raw["created"]), str(raw["token"]), str(raw.get("url", "")))
            if _alive(holder):  # lost a race: a live instance wrote it in the meantime; put it back
                try:
                    os.link(aside, self.path)  # unlike a rename, never replaces a newer lock
                except FileExistsError:
                    pass
        except (OSError, ValueError, KeyError, TypeError):
            pass
        aside.unlink(missing_ok=True)
