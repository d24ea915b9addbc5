"""The internal event bus: services publish, the UI and other services listen.

Publishing never blocks a service. Each subscriber has its own bounded queue; a
subscriber too slow to keep up loses its oldest events and is told so through the
`dropped` counter, instead of stalling the supervisor that published them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    topic: str
    data: dict[str, Any]
    at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {"type": self.topic, "at": self.at, "data": self.data}


class Subscription:
    def __init__(self, bus: EventBus, topics: frozenset[str] | None, maxsize: int,
                 wake: threading.Event | None = None) -> None:
        self._bus = bus
        self.topics = topics
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=maxsize)
        self.dropped = 0
        # Set on every offer, so a reader can wait on several sources at once (nexus/ui/live.py).
        self.wake = wake

    def wants(self, topic: str) -> bool:
        if self.topics is None:
            return True
        return any(topic == t or (t.endswith(".") and topic.startswith(t)) for t in self.topics)

    def offer(self, event: Event) -> None:
        while True:
            try:
                self._queue.put_nowait(event)
                break
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass
        if self.wake is not None:
            self.wake.set()

    def get(self, timeout: float | None = None) -> Event | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []
        self._listeners: list[tuple[frozenset[str] | None, Callable[[Event], None]]] = []

    def subscribe(self, topics: Iterable[str] | None = None, maxsize: int = 1000,
                  wake: threading.Event | None = None) -> Subscription:
        """Topics are exact names, or prefixes ending in a dot (`"server."`); `wake` is set
        whenever an event arrives."""
        sub = Subscription(self, frozenset(topics) if topics is not None else None, maxsize, wake)
        with self._lock:
            self._subscriptions.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)

    def listen(self, callback: Callable[[Event], None], topics: Iterable[str] | None = None) -> None:
        """Run `callback` synchronously in the publisher's thread; keep it short."""
        with self._lock:
            self._listeners.append((frozenset(topics) if topics is not None else None, callback))

    def publish(self, topic: str, **data: Any) -> Event:
        event = Event(topic, data)
        with self._lock:
            subs = [s for s in self._subscriptions if s.wants(topic)]
            listeners = list(self._listeners)
        for sub in subs:
            sub.offer(event)
        for topics, callback in listeners:
            if topics is None or topic in topics:
                try:
                    callback(event)
                except Exception:  # a broken listener must not break the publisher
                    log.exception("event listener failed for %s", topic)
        return event

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscriptions)
