"""A sliding-window rate limiter kept in memory.

Nexus is one process serving one owner, so counters in memory are enough; they reset on
restart, which is fine for limits measured in minutes (the lockout, which must survive a
restart, is kept in the store instead).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._max_keys = max_keys

    def hit(self, key: str, limit: int, window: float = 60.0) -> float:
        """Count one request. Returns 0 when allowed, else the seconds until one is allowed again."""
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self._max_keys:
                    self._prune(now, window)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(0.001, hits[0] + window - now)
            hits.append(now)
            return 0.0

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()

    def _prune(self, now: float, window: float) -> None:
        # Many addresses (a scan through the tunnel) must not grow memory without bound.
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - window]:
            del self._hits[key]
