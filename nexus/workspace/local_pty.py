"""A shell on a pseudo-terminal that Nexus spawns itself, in its own session and process group.

Output is read by one named thread into a bounded scrollback, so a browser that reconnects
(a network drop, a reload) gets the screen back, and is fanned out to every attached
viewer. Closing hangs up the whole process group, then kills what is left.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import psutil

from nexus.workspace.commands import signal_group, stop_group
from nexus.workspace.screen import Screen

_KILL_GRACE = 1.0
# The child makes the pty its controlling terminal before it becomes the shell: Popen
# cannot do that itself without preexec_fn, which is unsafe in a threaded server.
_CTTY = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
         "os.execvp(sys.argv[1], sys.argv[1:])")


def default_shell() -> list[str]:
    shell = os.environ.get("SHELL") or "/bin/sh"
    if not os.path.exists(shell):
        shell = "/bin/sh"
    return [shell, "-i"]


class LocalPty(Screen):
    backend = "local"

    def __init__(self, cwd: Path, *, cols: int = 80, rows: int = 24, command: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        super().__init__()
        master, slave = os.openpty()
        _set_size(master, cols, rows)
        child_env = {**os.environ, **(env or {}), "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        child_env.pop("OPENCODE_SERVER_PASSWORD", None)  # an attached server's password, if set this way
        child_env.pop("NEXUS_DATABASE_URL", None)  # and the store's
        try:
            self.process = subprocess.Popen([sys.executable, "-c", _CTTY, *(command or default_shell())],
                                            cwd=str(cwd), stdin=slave, stdout=slave, stderr=slave,
                                            env=child_env, start_new_session=True, close_fds=True)
        except OSError:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.pid: int = self.process.pid
        self._master = master
        self._reader = threading.Thread(target=self._read_loop, name=f"terminal-{self.pid}", daemon=True)
        self._reader.start()

    # ----- input -----------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.closed.is_set():
            return
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    time.sleep(0.01)
                    continue
                return  # the shell is gone; the reader reports it
            view = view[written:]

    def resize(self, cols: int, rows: int) -> None:
        if not self.closed.is_set():
            _set_size(self._master, cols, rows)  # the kernel sends SIGWINCH to the foreground job

    # ----- lifetime --------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        try:
            while True:
                try:
                    ready, _, _ = select.select([self._master], [], [], 0.5)
                except (OSError, ValueError):
                    break
                if not ready:
                    if self.process.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(self._master, 65536)
                except OSError:  # EIO: the last process holding the pty's other end is gone
                    break
                if not chunk:
                    break
                self._output(chunk)
        finally:
            self._finish()

    def _finish(self) -> None:
        stop_group(self.process, grace=_KILL_GRACE)
        _kill_session(self.pid)
        self._ended(self.process.returncode)

    def close(self) -> None:
        """Hang up the shell and everything it started; returns when all of it is gone."""
        if not self.closed.is_set():
            for group in _session_groups(self.pid):
                signal_group(group, signal.SIGHUP)
            stop_group(self.process, grace=_KILL_GRACE)
            _kill_session(self.pid)
        self._reader.join(timeout=5)
        try:
            os.close(self._master)
        except OSError:
            pass


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _session_groups(session: int) -> set[int]:
    """Every process group in the shell's session. An interactive shell puts each job
    (`sleep 300 &`) in a group of its own, so the shell's group alone is not enough."""
    groups = set()
    for pid in psutil.pids():
        try:
            if os.getsid(pid) == session:
                groups.add(os.getpgid(pid))
        except OSError:
            continue
    return groups


def _kill_session(session: int) -> None:
    for group in _session_groups(session):
        signal_group(group, signal.SIGKILL)
