"""Remembers which OpenCode process Nexus started, so that one left running by a crash of
Nexus (kill -9, power loss of the UI, a debugger) is stopped at the next start.

The child runs in its own process group so a clean stop takes everything it started; the
price is that it does not die with Nexus. The record holds the pid *and* its start time,
so a recycled pid of some unrelated process is never touched.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path

log = logging.getLogger(__name__)


class ChildRecord:
    def __init__(self, path: Path) -> None:
        self.path = path

    def remember(self, pid: int) -> None:
        import psutil

        try:
            created = psutil.Process(pid).create_time()
        except psutil.Error:
            return
        self.path.write_text(json.dumps({"pid": pid, "created": created}))

    def forget(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def reap(self, timeout: float = 5.0) -> int | None:
        """Stop the recorded process if it is still the one Nexus started. Returns its pid."""
        import psutil

        try:
            record = json.loads(self.path.read_text())
            pid, created = int(record["pid"]), float(record["created"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            self.forget()
            return None
        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - created) > 0.01:
                self.forget()
                return None
            family = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            self.forget()
            return None
        log.warning("stopping OpenCode (pid %d) left running by an earlier Nexus that did not shut down", pid)
        if sys.platform != "win32":
            try:
                os.killpg(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        else:
            proc.terminate()
        _, alive = psutil.wait_procs(family, timeout=timeout)
        for leftover in alive:
            try:
                leftover.kill()
            except psutil.Error:
                pass
        self.forget()
        return pid
