"""One `opencode serve` child process: spawn, wait until it listens, pump its output, stop.

The child runs in its own process group (its own console group on Windows), so stopping
it also stops whatever it started (shell commands of the agent, language servers) and
nothing is left behind as an orphan.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

log = logging.getLogger("nexus.opencode")

LISTENING = re.compile(r"listening on (https?://[^\s]+)")


class StartError(RuntimeError):
    pass


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec function that makes the child get SIGTERM when Nexus dies (Linux's
    PR_SET_PDEATHSIG), or None where the OS has no such thing. libc is loaded here, in the
    parent: the child between fork and exec only makes the one system call."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # Nexus died before the call: nobody would send the signal
            os._exit(1)

    return die_with_parent


PR_SET_PDEATHSIG = 1


class Launcher:
    """Forks OpenCode on one long-lived thread (`nexus-opencode-launcher`). Linux sends the
    parent-death signal when the *thread* that forked the child ends, so a child forked on a
    short-lived thread (a web request that clicked "restart") would die with that request."""

    def __init__(self) -> None:
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def run(self, spawn: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nexus-opencode-launcher")
            pool = self._pool
        return pool.submit(spawn).result()

    def stop(self) -> None:
        """After the child is gone (its parent-death signal is tied to this thread)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


class OpenCodeProcess:
    def __init__(self, binary: str, workspace: Path, env: dict[str, str], *, password: str | None,
                 launcher: Launcher | None = None) -> None:
        """With a `launcher`, the child dies with Nexus (parent-death signal, Linux); without
        one it outlives a crash of Nexus, for the next start to adopt."""
        self.binary = binary
        self.workspace = workspace
        self._env = env
        self._password = password
        self._launcher = launcher
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
        preexec = _parent_death_signal() if self._launcher is not None else None
        if preexec is not None:
            kwargs["preexec_fn"] = preexec

        def spawn() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [self.binary, "serve", "--hostname", "127.0.0.1", "--port", "0"],
                cwd=self.workspace, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs,
            )

        try:
            self._popen = self._launcher.run(spawn) if preexec is not None and self._launcher else spawn()
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

    def _descendants(self) -> list[psutil.Process]:
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

    def reap_leftovers(self, known: list[psutil.Process] | None = None) -> None:
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
        assert sig is not None, "None only on Windows, handled above"
        try:
            os.killpg(self._popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                self._popen.send_signal(sig)
            except ProcessLookupError:
                pass


class AdoptedProcess:
    """An OpenCode started by an earlier Nexus that was killed, adopted by this one: the same
    interface as OpenCodeProcess, through psutil, since it is not this process's child (its
    output went to the dead Nexus; its exit code is not ours to read)."""

    def __init__(self, pid: int, url: str) -> None:
        import psutil

        self._proc = psutil.Process(pid)
        self.url = url
        self.tail: collections.deque[str] = collections.deque(["(adopted after a crash of Nexus)"], maxlen=40)
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def poll(self) -> int | None:
        import psutil

        try:
            if self._proc.is_running() and self._proc.status() != psutil.STATUS_ZOMBIE:
                return None
        except psutil.Error:
            pass
        return -1  # gone; the exit code went to its parent

    def last_output(self, lines: int = 5) -> str:
        return " | ".join(list(self.tail)[-lines:])

    def stop(self, timeout: float) -> int | None:
        import psutil

        try:
            family = [self._proc, *self._proc.children(recursive=True)]
        except psutil.Error:
            return self.poll()
        if sys.platform != "win32":
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                self._proc.terminate()
        else:
            self._proc.terminate()
        _, alive = psutil.wait_procs(family, timeout=timeout)
        for leftover in alive:
            try:
                leftover.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=5)
        return None
