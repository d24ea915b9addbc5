"""A named thread that does one thing every few seconds, until it is stopped.

The services that work on a clock (metrics sampling, transcript batching) share this, so
each of them has one owner, one name, a stop that joins it, and a crash in one round is
logged without ending the loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicWorker:
    def __init__(self, name: str, interval: float, work: Callable[[], object], *, what: str) -> None:
        self.name = name
        self.interval = interval
        self._work = work
        self._what = what
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._wake.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Do a round now rather than at the next tick."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        # Rounds keep to the clock (next_at += interval) so a slow round does not drift the rest.
        next_at = time.monotonic() + self.interval
        while True:
            woken = self._wake.wait(max(0.0, next_at - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._work()
            except Exception:
                log.exception("%s failed; trying again in %.1f s", self._what, self.interval)
            if woken:
                continue  # an extra round; the regular ones keep their times
            next_at += self.interval
            if next_at < time.monotonic():  # fell behind (machine asleep): skip, don't burst
                next_at = time.monotonic() + self.interval
