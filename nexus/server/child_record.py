"""Remembers which OpenCode process Nexus started, so that one left running by a crash of
Nexus (kill -9, power loss of the UI, a debugger) is adopted or stopped at the next start.

The child runs in its own process group so a clean stop takes everything it started; the
price is that it outlives a Nexus that is killed. The record holds the pid *and* its start
time, so a recycled pid of some unrelated process is never touched, plus the URL and a
fingerprint of the settings it was started with; its password lives in the secret store
(never in this file), so the next start can talk to it and carry on its replies.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

PASSWORD_SECRET = "opencode.managed_password"


class _Secrets(Protocol):
    def get(self, name: str) -> str | None: ...
    def set(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...


@dataclass(frozen=True)
class Survivor:
    """An OpenCode a crashed Nexus started, still running: what adopting it takes."""
    pid: int
    url: str
    password: str | None


def fingerprint(config: dict[str, Any]) -> str:
    """The settings an OpenCode was started with; a different one is not adopted."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:32]


class ChildRecord:
    def __init__(self, path: Path, secrets: _Secrets | None = None) -> None:
        self.path = path
        self._secrets = secrets

    def remember(self, pid: int, *, url: str | None = None, password: str | None = None,
                 config: str | None = None) -> None:
        import psutil

        try:
            created = psutil.Process(pid).create_time()
        except psutil.Error:
            return
        if self._secrets is not None:
            try:
                if password:
                    self._secrets.set(PASSWORD_SECRET, password)
                else:
                    self._secrets.delete(PASSWORD_SECRET)
            except Exception:  # a secret store that fails only costs the adoption, never the start
                log.warning("could not keep OpenCode's password for adoption after a crash", exc_info=True)
        self.path.write_text(json.dumps({"pid": pid, "created": created, "url": url, "config": config,
                                         "protected": bool(password)}))

    def forget(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        if self._secrets is not None:
            try:
                self._secrets.delete(PASSWORD_SECRET)
            except Exception:
                pass

    def _alive_record(self) -> tuple[dict[str, Any], Any] | None:
        """The record and its process, if that process is still the one Nexus started."""
        try:
            record = json.loads(self.path.read_text())
            pid, created = int(record["pid"]), float(record["created"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            self.forget()
            return None
        import psutil  # only now: every start asks, and after a clean stop there is no record

        try:
            proc = psutil.Process(pid)
            if abs(proc.create_time() - created) > 0.01 or proc.status() == psutil.STATUS_ZOMBIE:
                self.forget()
                return None
        except psutil.Error:
            self.forget()
            return None
        return record, proc

    def survivor(self, config: str) -> Survivor | None:
        """The recorded OpenCode if it still runs with the same settings (`fingerprint`)."""
        found = self._alive_record()
        if found is None:
            return None
        record, proc = found
        if not record.get("url") or record.get("config") != config:
            return None
        password = self._secrets.get(PASSWORD_SECRET) if self._secrets is not None else None
        if record.get("protected") and not password:
            return None
        return Survivor(proc.pid, record["url"], password)

    def reap(self, timeout: float = 5.0) -> int | None:
        """Stop the recorded process if it is still the one Nexus started. Returns its pid."""
        found = self._alive_record()
        if found is None:
            return None
        import psutil

        _, proc = found
        pid = proc.pid
        try:
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
