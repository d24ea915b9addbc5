"""A terminal that OpenCode runs (its /pty API), for sessions of the OpenCode engine.

Nexus creates the PTY over REST and holds the one WebSocket to it (with OpenCode's password,
which the browser never sees); the browser talks only to Nexus. OpenCode sends output as
text frames and bookkeeping as binary frames starting with a NUL byte (`\\0{"cursor":N}`),
which are dropped. Nexus keeps its own scrollback, so a browser that reconnects gets the
screen back even though the upstream connection never dropped.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from simple_websocket import ConnectionClosed

from nexus.server.client import OpenCodeError
from nexus.workspace.screen import Screen

log = logging.getLogger(__name__)

HIDDEN_ENV = {"OPENCODE_SERVER_PASSWORD": "", "OPENCODE_SERVER_USERNAME": ""}


class OpenCodePty(Screen):
    backend = "opencode"

    def __init__(self, client: Any, cwd: Path, *, cols: int = 80, rows: int = 24) -> None:
        super().__init__()
        self._client = client
        self._closing = threading.Event()
        # The shell inherits OpenCode's environment, which holds the password Nexus gave it.
        info = client.json("POST", "/pty", json={"cwd": str(cwd), "title": "Nexus", "env": HIDDEN_ENV})
        self.ref: str = info["id"]
        self.pid: int | None = info.get("pid")
        try:
            self.resize(cols, rows)
            self._ws = client.websocket(f"/pty/{self.ref}/connect")
        except Exception:
            self._delete()
            raise
        self._reader = threading.Thread(target=self._read_loop, name=f"terminal-{self.ref}", daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        try:
            while not self._closing.is_set():
                frame = self._ws.receive(timeout=0.5)
                if frame is None:
                    continue
                if isinstance(frame, str):
                    self._output(frame.encode("utf-8"))
                elif not frame.startswith(b"\x00"):
                    self._output(bytes(frame))
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("the OpenCode terminal %s broke off", self.ref)
        finally:
            self._ended(None if self._closing.is_set() else self._exit_code())

    def _exit_code(self) -> int | None:
        try:
            return self._client.json("GET", f"/pty/{self.ref}").get("exitCode")
        except (OpenCodeError, AttributeError, RuntimeError):  # RuntimeError: a restart closed the client
            return None

    def write(self, data: bytes) -> None:
        if self.closed.is_set():
            return
        try:
            self._ws.send(data.decode("utf-8", "replace"))
        except ConnectionClosed:
            pass

    def resize(self, cols: int, rows: int) -> None:
        try:
            self._client.json("PUT", f"/pty/{self.ref}", json={"size": {"rows": rows, "cols": cols}})
        except OpenCodeError as exc:
            log.warning("resizing the OpenCode terminal %s failed: %s", self.ref, exc)

    def _delete(self) -> None:
        try:
            self._client.json("DELETE", f"/pty/{self.ref}")
        except (OpenCodeError, RuntimeError) as exc:
            # OpenCode stopped or was restarted meanwhile (its client closed, "Cannot send a
            # request, as the client has been closed"): its terminals went with it.
            log.info("removing the OpenCode terminal %s: %s", self.ref, exc)

    def close(self) -> None:
        self._closing.set()
        self._delete()  # OpenCode ends the shell and everything it started
        try:
            self._ws.close()
        except Exception:
            pass
        self._reader.join(timeout=5)
