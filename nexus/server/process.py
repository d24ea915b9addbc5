"""One `opencode serve` child process: spawn, wait until it listens, pump its output, stop.

The child runs in its own process group (its own console group on Windows), so stopping
it also stops whatever it started (shell commands of the agent, language servers) and
nothing is left behind as an orphan.
"""

from __future__ import annotations

import collections
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

log = logging.getLogger("nexus.opencode")

LISTENING = re.compile(r"listening on (https?://[^\s]+)")


class StartError(RuntimeError):
    pass


class OpenCodeProcess:
    def __init__(self, binary: str, workspace: Path, env: dict[str, str], *, password: str | None) -> None:
        self.binary = binary
        self.workspace = workspace
        self._env = env
        self._password = password
        self._popen: subprocess.Popen[bytes] | None = None
        self._pumps: list[threading.Thread] = []
        self._listening = threading.Event()
        self.url: str | None = None
        self.tail: collections.deque[str] = collections.deque(maxlen=40)
        self.started_at: float | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def poll(self) -> int | None:
        return self._popen.poll() if self._popen else None

    def start(self, timeout: float) -> str:
        """Spawn and wait for the `listening on` line. Returns the server URL."""
        env = {**os.environ, **self._env}
        env.pop("OPENCODE_SERVER_PASSWORD", None)
        env.pop("NEXUS_DATABASE_URL", None)  # the store's password is not the agent's to read
        if self._password:
            env["OPENCODE_SERVER_PASSWORD"] = self._password
        self.workspace.mkdir(parents=True, exist_ok=True)
        kwargs: dict = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        else:
            kwargs["start_new_session"] = True
        try:
            self._popen = subprocess.Popen(
                [self.binary, "serve", "--hostname", "127.0.0.1", "--port", "0"],
                cwd=self.workspace, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
            )
        except OSError as exc:
            raise StartError(f"Could not run {self.binary}: {exc.strerror or exc}") from exc
        self.started_at = time.monotonic()
        for name, stream in (("stdout", self._popen.stdout), ("stderr", self._popen.stderr)):
            pump = threading.Thread(target=self._pump, args=(stream, name), name=f"opencode-{name}-{self._popen.pid}",
                                    daemon=True)
            pump.start()
            self._pumps.append(pump)
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            code = self._popen.poll()
            if code is not None:
                self._join_pumps(1.0)
                raise StartError(f"OpenCode exited with code {code} before it was ready. "
                                 f"Last output: {self.last_output() or '(none)'}")
            if time.monotonic() > deadline:
                self.stop(2.0)
                raise StartError(f"OpenCode did not start listening within {timeout:g} s. "
                                 f"Last output: {self.last_output() or '(none)'}")
        assert self.url is not None
        return self.url

    def last_output(self, lines: int = 5) -> str:
        return " | ".join(list(self.tail)[-lines:])

    def _pump(self, stream, name: str) -> None:
        level = logging.INFO if name == "stdout" else logging.WARNING
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                if not line:
                    continue
                self.tail.append(line)
                if not self._listening.is_set():
                    match = LISTENING.search(line)
                    if match:
                        self.url = match.group(1).rstrip("/")
                        self._listening.set()
                line_level = logging.ERROR if "ERROR" in line else level
                log.log(line_level, "%s", line, extra={"source": "opencode", "fields": {"stream": name, "pid": self.pid}})
        except (OSError, ValueError):
            pass  # the pipe closed under us during stop
        finally:
            try:
                stream.close()
            except OSError:
                pass

    def _join_pumps(self, timeout: float) -> None:
        for pump in self._pumps:
            pump.join(timeout)

    def _descendants(self) -> list["psutil.Process"]:
        import psutil

        if not self._popen:
            return []
        try:
            return psutil.Process(self._popen.pid).children(recursive=True)
        except psutil.Error:
            return []

    def stop(self, timeout: float) -> int | None:
        """Terminate, wait up to `timeout`, then kill. Returns the exit code."""
        if not self._popen:
            return None
        descendants = self._descendants()
        if self._popen.poll() is None:
            self._signal(signal.SIGTERM if sys.platform != "win32" else None)
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("OpenCode (pid %s) did not stop within %.1f s; killing it", self._popen.pid, timeout)
                self._signal(signal.SIGKILL if sys.platform != "win32" else None, kill=True)
                self._popen.wait(5)
        self.reap_leftovers(descendants)
        self._join_pumps(2.0)
        return self._popen.returncode

    def reap_leftovers(self, known: list["psutil.Process"] | None = None) -> None:
        """Kill whatever the server started that outlived it (its process group, and any
        descendant that left the group)."""
        if not self._popen:
            return
        if sys.platform != "win32":
            try:
                os.killpg(self._popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for proc in known or []:
            try:
                proc.kill()
            except Exception:  # psutil.NoSuchProcess / AccessDenied: gone, or not ours
                pass
        if self._popen.poll() is None:
            return
        self._join_pumps(0.5)

    def _signal(self, sig: int | None, kill: bool = False) -> None:
        assert self._popen is not None
        if sys.platform == "win32":
            self._popen.kill() if kill else self._popen.terminate()
            return
        try:
            os.killpg(self._popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                self._popen.send_signal(sig)
            except ProcessLookupError:
                pass
