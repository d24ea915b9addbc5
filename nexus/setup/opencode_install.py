"""Installing OpenCode with npm from the setup wizard, for a newcomer who has npm but not
OpenCode. One install at a time, in one named thread this object owns; the wizard polls
`state()` and shows the exact command and its output as it comes."""

from __future__ import annotations

import collections
import logging
import os
import shutil
import signal
import subprocess
import threading
from typing import Any

from nexus.errors import ServiceError

log = logging.getLogger(__name__)

PACKAGE = "opencode-ai"
COMMAND = ("npm", "install", "-g", PACKAGE)
KEEP_LINES = 200


class InstallError(ServiceError, RuntimeError):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message, status, code)


class OpenCodeInstaller:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: collections.deque[str] = collections.deque(maxlen=KEEP_LINES)
        self._state = "idle"  # idle, running, done, failed
        self._returncode: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def npm() -> str | None:
        return shutil.which("npm")

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"command": " ".join(COMMAND), "npm_found": self.npm() is not None, "state": self._state,
                    "returncode": self._returncode, "output": list(self._lines)}

    def start(self) -> dict[str, Any]:
        npm = self.npm()
        if npm is None:
            raise InstallError(409, "npm is not installed on this computer. Install Node.js (which brings npm) "
                                    "from https://nodejs.org, or use the built-in Anthropic engine with an API key.",
                               "npm_missing")
        with self._lock:
            if self._state == "running":
                raise InstallError(409, "OpenCode is being installed already.", "install_running")
            self._lines.clear()
            self._lines.append("$ " + " ".join(COMMAND))
            self._state, self._returncode = "running", None
            try:
                # Its own process group: stopping ends npm's children too (they hold the output pipe).
                self._proc = subprocess.Popen([npm, *COMMAND[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL, text=True, bufsize=1,
                                              start_new_session=os.name != "nt")
            except OSError as exc:
                self._state = "failed"
                self._lines.append(f"Could not run npm: {exc}")
                raise InstallError(500, f"Could not run npm ({exc}).", "npm_failed") from exc
            self._thread = threading.Thread(target=self._follow, args=(self._proc,), name="opencode-install",
                                            daemon=True)
            self._thread.start()
        log.info("installing OpenCode: %s", " ".join(COMMAND))
        return self.state()

    def _follow(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._lock:
                self._lines.append(line.rstrip())
        code = proc.wait()
        with self._lock:
            self._returncode = code
            self._state = "done" if code == 0 else "failed"
            if code != 0:
                self._lines.append(f"npm ended with code {code}. The lines above say why; the same command can be "
                                   "run in a terminal.")
        log.info("OpenCode install ended with code %s", code)

    @staticmethod
    def _signal(proc: subprocess.Popen[str], sig: int) -> None:
        try:
            if os.name != "nt":
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self) -> None:
        with self._lock:
            proc, thread = self._proc, self._thread
        if proc is not None and proc.poll() is None:
            self._signal(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL if os.name != "nt" else signal.SIGTERM)
        elif proc is not None:
            self._signal(proc, signal.SIGTERM)  # npm is gone; children of its group may not be
        if thread is not None:
            thread.join(timeout=5)
