"""Every terminal Nexus has open, by session: created, listed, looked up and closed here.

The manager owns the shells: they close when their session is archived or deleted, and all
of them on shutdown. A terminal's backend (a PTY OpenCode runs, or one Nexus spawns itself)
is chosen by the caller; both look the same from here (nexus/workspace/screen.py).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus.bus import Event, EventBus
from nexus.errors import ServiceError
from nexus.server.client import OpenCodeError
from nexus.workspace.screen import Screen

log = logging.getLogger(__name__)

MAX_PER_SESSION = 4
MAX_TOTAL = 16
# The chat's list-of-sessions topic (nexus/chat/service.py SESSIONS_TOPIC).
SESSIONS_TOPIC = "chat.sessions"


class TerminalError(ServiceError, ValueError):
    def __init__(self, message: str, code: str, status: int = 400) -> None:
        super().__init__(message, status, code)


@dataclass
class Terminal:
    id: str
    session_id: str
    cwd: Path
    pty: Any  # a Screen with write/resize/close: LocalPty or OpenCodePty
    created_at: float = field(default_factory=time.time)

    # What a viewer (the pane's WebSocket) does with the screen; the backend stays behind these.
    def attach(self) -> tuple[Any, bytes]:
        """A new viewer (its queue of output chunks, None at the end) and the scrollback so far."""
        return self.pty.attach()

    def detach(self, viewer: Any) -> None:
        self.pty.detach(viewer)

    def write(self, data: bytes) -> None:
        self.pty.write(data)

    def resize(self, cols: int, rows: int) -> None:
        self.pty.resize(cols, rows)

    @property
    def exit_code(self) -> int | None:
        return self.pty.exit_code

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "session_id": self.session_id, "cwd": str(self.cwd), "created_at": self.created_at,
                "backend": self.pty.backend,
                "running": not self.pty.closed.is_set(), "exit_code": self.pty.exit_code}


class TerminalManager:
    def __init__(self, bus: EventBus) -> None:
        self._lock = threading.Lock()
        self._terminals: dict[str, Terminal] = {}
        self._accepting = False
        bus.listen(self._on_session_change, topics=[SESSIONS_TOPIC])

    def start(self) -> None:
        self._accepting = True

    def stop(self) -> None:
        """Close every terminal (each one's whole process group) and refuse new ones."""
        with self._lock:
            self._accepting = False
            closing = list(self._terminals.values())
            self._terminals.clear()
        for terminal in closing:
            try:
                terminal.pty.close()
            except Exception:  # one terminal that cannot close must not keep the others open
                log.exception("closing terminal %s failed", getattr(terminal, "id", "?"))

    def create(self, session_id: str, cwd: Path, spawn: Callable[..., Screen], cols: int = 80,
               rows: int = 24) -> Terminal:
        """`spawn(cwd, cols=, rows=)` starts the backend; it runs under the lock so the limits hold."""
        with self._lock:
            if not self._accepting:
                raise TerminalError("Nexus is shutting down.", "shutting_down", 503)
            self._reap_locked()
            if sum(t.session_id == session_id for t in self._terminals.values()) >= MAX_PER_SESSION:
                raise TerminalError(f"A session has at most {MAX_PER_SESSION} terminals; close one first.",
                                    "too_many_terminals", 409)
            if len(self._terminals) >= MAX_TOTAL:
                raise TerminalError(f"Nexus has {MAX_TOTAL} terminals open; close some first.",
                                    "too_many_terminals", 409)
            try:
                pty = spawn(cwd, cols=_clamp(cols, 2, 1000), rows=_clamp(rows, 2, 500))
            except OSError as exc:
                raise TerminalError(f"The shell could not be started: {exc.strerror or exc}.", "spawn_failed",
                                    500) from exc
            except OpenCodeError as exc:  # OpenCode's own terminal: it is slow, busy or gone
                raise TerminalError(f"OpenCode could not open a terminal: {exc}.", "spawn_failed", 502) from exc
            terminal = Terminal(f"t_{secrets.token_hex(8)}", session_id, cwd, pty)
            self._terminals[terminal.id] = terminal
        log.info("terminal %s opened for session %s (%s, pid %s)", terminal.id, session_id, pty.backend, pty.pid)
        return terminal

    def get(self, terminal_id: str) -> Terminal:
        with self._lock:
            terminal = self._terminals.get(terminal_id)
        if terminal is None:
            raise TerminalError("No such terminal (it was closed, or Nexus restarted).", "not_found", 404)
        return terminal

    def list(self, session_id: str) -> list[Terminal]:
        with self._lock:
            self._reap_locked()
            return sorted((t for t in self._terminals.values() if t.session_id == session_id),
                          key=lambda t: t.created_at)

    def close(self, terminal_id: str) -> None:
        with self._lock:
            terminal = self._terminals.pop(terminal_id, None)
        if terminal is None:
            raise TerminalError("No such terminal.", "not_found", 404)
        terminal.pty.close()
        log.info("terminal %s closed", terminal_id)

    def close_session(self, session_id: str) -> int:
        with self._lock:
            closing = [t for t in self._terminals.values() if t.session_id == session_id]
            for terminal in closing:
                del self._terminals[terminal.id]
        for terminal in closing:
            try:
                terminal.pty.close()
            except Exception:  # one terminal that cannot close must not keep the others open
                log.exception("closing terminal %s failed", getattr(terminal, "id", "?"))
        return len(closing)

    def count(self) -> int:
        with self._lock:
            return len(self._terminals)

    def _reap_locked(self) -> None:
        """Forget shells that exited by themselves (`exit`): their reader has reaped them."""
        for terminal_id in [i for i, t in self._terminals.items() if t.pty.closed.is_set()]:
            self._terminals.pop(terminal_id).pty.close()

    def _on_session_change(self, event: Event) -> None:
        if event.data.get("change") in ("archived", "deleted") and self.close_session(event.data["session_id"]):
            log.info("closed the terminals of session %s (%s)", event.data["session_id"], event.data["change"])


def _clamp(value: Any, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return low
