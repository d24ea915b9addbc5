"""Commands a person runs from the workspace pane ("run a command"), one per client.

A `ManualCommand` owns its process (through `run_command`, the one command runner) and the
thread that waits for it; its output is queued for the one client that asked, which reads
it at its own pace. The client starts it, may cancel it, and stops it when it goes (the
command is cancelled, the thread joined). `ManualCommands`, owned by the workspace service,
knows every command still running so that stopping Nexus stops them all.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

from nexus.errors import ServiceError
from nexus.workspace.commands import CommandResult, run_command

TIMEOUT = 600.0  # a build or a test run, started by hand: longer than an agent's tool call
JOIN_TIMEOUT = 10.0


class ManualCommand:
    def __init__(self, folder: Path, owner: ManualCommands, *, timeout: float = TIMEOUT) -> None:
        self.folder = folder
        self._owner = owner
        self._timeout = timeout
        self._output: queue.Queue[str] = queue.Queue()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._result: CommandResult | OSError | None = None

    def start(self, command: str) -> None:
        """Run `command` (a shell line) in the folder. Raises ServiceError for an empty command
        or while Nexus is stopping."""
        if not command.strip():
            raise ServiceError("The command is empty.", 400, "empty_command")
        if self._thread is not None:
            raise RuntimeError("a manual command runs once")
        self._thread = threading.Thread(target=self._run, args=(command,), name="workspace-manual-command",
                                        daemon=True)
        self._owner._started(self)
        self._thread.start()

    def _run(self, command: str) -> None:
        try:
            self._result = run_command(command, self.folder, timeout=self._timeout, cancel=self._cancel,
                                       on_output=self._output.put)
        except OSError as exc:  # /bin/sh missing, the folder gone, no processes left
            self._result = exc
        finally:
            self._owner._ended(self)

    def read(self, wait: float, limit: int) -> str | None:
        """The output that came since the last read (about `limit` characters at most), waiting
        up to `wait` seconds for some; None when none came."""
        try:
            text = self._output.get(timeout=wait)
        except queue.Empty:
            return None
        while len(text) < limit:
            try:
                text += self._output.get_nowait()
            except queue.Empty:
                break
        return text

    @property
    def finished(self) -> bool:
        """The command has ended and all its output has been read."""
        return self._thread is not None and not self._thread.is_alive() and self._output.empty()

    def cancel(self) -> None:
        """Stop the command (its whole process group); it then finishes as cancelled."""
        self._cancel.set()

    def outcome(self) -> dict[str, Any]:
        """How it ended, once `finished`: exit code, a one-line summary, and why it stopped."""
        result = self._result
        if result is None:
            raise RuntimeError("the command has not finished")
        if isinstance(result, OSError):
            return {"exit_code": None, "summary": f"It could not start: {result}.", "truncated": False,
                    "timed_out": False, "cancelled": False}
        return {"exit_code": result.exit_code, "summary": result.summary(), "truncated": result.truncated,
                "timed_out": result.timed_out, "cancelled": result.cancelled}

    def stop(self, timeout: float = JOIN_TIMEOUT) -> None:
        """Cancel it if it still runs and wait for its thread. Idempotent."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join(timeout)


class ManualCommands:
    """Every manual command still running, so that stopping Nexus stops them."""

    def __init__(self) -> None:
        self._running: set[ManualCommand] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def prepare(self, folder: Path) -> ManualCommand:
        return ManualCommand(folder, self)

    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            running = list(self._running)
        for command in running:
            command.stop()

    def _started(self, command: ManualCommand) -> None:
        with self._lock:
            if self._stopped:
                raise ServiceError("Nexus is stopping; the command was not started.", 503, "stopping")
            self._running.add(command)

    def _ended(self, command: ManualCommand) -> None:
        with self._lock:
            self._running.discard(command)
