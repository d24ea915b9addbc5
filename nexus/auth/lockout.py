"""Lock out the attacker, not the owner.

Failed sign-ins are counted per client: through the tunnel by the visitor's address
(Cloudflare's `Cf-Connecting-Ip`), on this computer as one client, "local". A client that
fails `security.lockout_failures` times within the window is locked for
`security.lockout_minutes`; nobody else is.

A stranger with many addresses is held by a global budget for the tunnel: at most
REMOTE_FAILURES_PER_HOUR wrong passwords through the tunnel, whatever the number of
addresses; when it is spent, sign-in through the tunnel waits until an hour after the last
counted failure. That budget is kept in the store (it survives a restart); per-client
counters live in memory. This computer (the desktop window, local sign-in) is never held by
remote failures.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nexus.settings import Settings  # typed reads only: no import at run time

REMOTE_FAILURES_PER_HOUR = 60
HOUR = 3600.0
MAX_CLIENTS = 10_000


def client_of(ip: str, via: str) -> str:
    """Every loopback address is this computer: one client, never mixed with remote ones."""
    return "local" if via == "local" else f"ip:{ip}"


@dataclass
class _Count:
    failures: int = 0
    since: float = 0.0
    locked_until: float = 0.0


class Lockout:
    def __init__(self, settings: Settings, repo: Any, clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._repo = repo  # the owner row keeps the tunnel's global budget (failed_count, failed_since, locked_until)
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, _Count] = {}

    def remaining(self, client: str) -> float:
        """Seconds until this client may try again (0: it may)."""
        now = self._clock()
        with self._lock:
            count = self._clients.get(client)
            mine = max(0.0, count.locked_until - now) if count else 0.0
        if client == "local":
            return mine
        return max(mine, self._remote_wait(now))

    def _remote_wait(self, now: float) -> float:
        owner = self._repo.owner()
        if owner is None or not owner.locked_until:
            return 0.0
        return max(0.0, owner.locked_until - now)

    def failed(self, client: str) -> tuple[bool, float]:
        """Count a failure. Returns (this client is now locked, for how many seconds)."""
        now = self._clock()
        window = self._settings.current.security.lockout_window_minutes * 60
        with self._lock:
            if len(self._clients) >= MAX_CLIENTS:  # a scan from many addresses must not grow memory
                self._clients = {k: c for k, c in self._clients.items()
                                 if c.locked_until > now or now - c.since <= window}
            count = self._clients.setdefault(client, _Count())
            if now - count.since > window:
                count.failures, count.since = 0, now
            count.failures += 1
            locked = count.failures >= self._settings.current.security.lockout_failures
            if locked:
                count.locked_until = now + self._settings.current.security.lockout_minutes * 60
                count.failures, count.since = 0, now
            wait = max(0.0, count.locked_until - now)
        if client != "local":
            self._count_remote(now)
        return locked, wait

    def _count_remote(self, now: float) -> None:
        owner = self._repo.owner()
        if owner is None:
            return
        since: float | None
        if owner.failed_since is None or now - owner.failed_since > HOUR:
            failures, since = 1, now
        else:
            failures, since = owner.failed_count + 1, owner.failed_since
        locked_until: float | None = owner.locked_until if owner.locked_until and owner.locked_until > now else None
        if failures >= REMOTE_FAILURES_PER_HOUR:
            locked_until, failures, since = now + HOUR, 0, None
        self._repo.set_failures(failures, since, locked_until)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._clients.pop(client, None)
