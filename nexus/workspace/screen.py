"""What every terminal backend shares: a bounded scrollback and the viewers attached to it.

A backend feeds output in with `_output()` and says `_ended()` once; browsers attach,
get the scrollback to draw first, then live chunks, and `None` when the shell is gone.
"""

from __future__ import annotations

import queue
import threading

SCROLLBACK_BYTES = 256 * 1024


class Viewer:
    """One attached browser: a queue of output chunks; None means the shell ended."""

    def __init__(self) -> None:
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=4096)
        self.overflowed = False

    def offer(self, chunk: bytes | None) -> None:
        try:
            self.queue.put_nowait(chunk)
        except queue.Full:
            self.overflowed = True  # the page is hopelessly behind: it reconnects and replays


class Screen:
    backend = "?"
    pid: int | None = None  # the shell's process id, where the backend knows it

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scrollback = bytearray()
        self._viewers: list[Viewer] = []
        self.exit_code: int | None = None
        self.closed = threading.Event()

    def attach(self) -> tuple[Viewer, bytes]:
        """A new viewer and the scrollback to draw first (taken atomically with the attach)."""
        viewer = Viewer()
        with self._lock:
            if self.closed.is_set():
                viewer.offer(None)
            self._viewers.append(viewer)
            return viewer, bytes(self._scrollback)

    def detach(self, viewer: Viewer) -> None:
        with self._lock:
            if viewer in self._viewers:
                self._viewers.remove(viewer)

    def _output(self, chunk: bytes) -> None:
        with self._lock:
            self._scrollback.extend(chunk)
            if len(self._scrollback) > SCROLLBACK_BYTES:
                del self._scrollback[:len(self._scrollback) - SCROLLBACK_BYTES]
            viewers = list(self._viewers)
        for viewer in viewers:
            viewer.offer(chunk)

    def _ended(self, exit_code: int | None) -> None:
        with self._lock:
            if self.closed.is_set():
                return
            self.exit_code = exit_code
            self.closed.set()
            viewers = list(self._viewers)
        for viewer in viewers:
            viewer.offer(None)
