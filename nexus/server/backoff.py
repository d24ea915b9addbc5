"""Exponential backoff for restarts, with a clock that tests can drive."""

from __future__ import annotations

import time
from collections.abc import Callable


class Backoff:
    """Attempt n (from 0) waits min(initial * factor**n, max_delay). After `max_attempts`
    attempts in a row it gives up (next_delay returns None). Running stably for
    `reset_after` seconds forgets the earlier failures."""

    def __init__(self, initial: float, factor: float, max_delay: float, max_attempts: int,
                 reset_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.initial = initial
        self.factor = factor
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.reset_after = reset_after
        self._clock = clock
        self.attempts = 0

    def next_delay(self) -> float | None:
        if self.attempts >= self.max_attempts:
            return None
        delay = min(self.initial * self.factor ** self.attempts, self.max_delay)
        self.attempts += 1
        return delay

    def note_running_since(self, started_at: float) -> None:
        """Called while the server runs; `started_at` is on the same clock."""
        if self.attempts and self._clock() - started_at >= self.reset_after:
            self.attempts = 0

    def reset(self) -> None:
        self.attempts = 0
