"""Which sessions wait for the user (a permission request or a question), from the chat events on the bus.

The window shows the count in its title, and a notification goes out when a session starts
waiting while the window is hidden. Plain Python, so it is tested without a GUI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from nexus.bus import Event, EventBus

WAITING = "waiting"


def window_title(waiting: int) -> str:
    if not waiting:
        return "Nexus"
    return f"Nexus — {waiting} session{'s' if waiting != 1 else ''} need{'s' if waiting == 1 else ''} you"


class AttentionTracker:
    def __init__(self, bus: EventBus, on_change: Callable[[int, str | None], None]) -> None:
        """`on_change(count, newly_waiting_session_id)` runs on every change of the count
        (the id is None when a session stopped waiting)."""
        self._on_change = on_change
        self._waiting: set[str] = set()
        self._lock = threading.Lock()
        bus.listen(self._on_event, topics=["chat.session"])

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._waiting)

    def _on_event(self, event: Event) -> None:
        session_id = event.data.get("session_id")
        if not session_id:
            return
        waiting = event.data.get("status") == WAITING
        with self._lock:
            if waiting == (session_id in self._waiting):
                return
            (self._waiting.add if waiting else self._waiting.discard)(session_id)
            count = len(self._waiting)
        self._on_change(count, session_id if waiting else None)
