"""The loop every live stream runs: bus events as they come, a heartbeat when idle."""

from __future__ import annotations

import threading
from typing import Iterator

from nexus.bus import Event, Subscription

HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 0.5


def events_with_heartbeats(sub: Subscription, stop: threading.Event, heartbeat: float = HEARTBEAT_SECONDS,
                           poll: float = POLL_SECONDS) -> Iterator[Event | None]:
    """Yields each event, and None after `heartbeat` seconds without one; ends when `stop` is set.
    Polling (not one long wait) lets the stream notice shutdown within `poll` seconds."""
    idle = 0.0
    while not stop.is_set():
        event = sub.get(timeout=poll)
        if event is None:
            idle += poll
            if idle >= heartbeat:
                idle = 0.0
                yield None
            continue
        idle = 0.0
        yield event
