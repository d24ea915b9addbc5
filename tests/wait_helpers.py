"""Waiting in tests: for a sentinel (a state, an event, a line), never for a fixed time.

`wait_until` is the one polling loop of the suite: a test that waits for something to happen
says what, with a deadline, and fails (instead of hanging) when it does not happen. A test that
checks that something did NOT happen first waits for a sentinel that comes after it would have
(a later event, the next round of a loop) and then looks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_INTERVAL = 0.05


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, what: str = "the condition", *,
               interval: float = POLL_INTERVAL) -> T:
    """The first truthy value of `predicate()`, asked every `interval` seconds; an
    AssertionError naming `what` once `timeout` seconds have passed without one."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
