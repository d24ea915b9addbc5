"""An OpenCode server Nexus attaches to by URL: health-checked and reconnected, never
started or killed (another machine, a container, an `opencode serve` the owner runs).

It offers what the spawned Supervisor offers to the rest of Nexus (`client`, `state`,
`status()`, `history()`, `counters`, `pid`), so an OpenCode engine and the workspace pane
drive either the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from nexus.background import PeriodicWorker
from nexus.bus import EventBus
from nexus.server.client import OpenCodeClient, OpenCodeError, RequestCounters
from nexus.server.supervisor import NotRunning

log = logging.getLogger(__name__)

SERVERS_TOPIC = "servers.state"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_HISTORY = 50


class AttachedServer:
    local = False

    def __init__(self, server_id: str, name: str, url: str, *, username: str = "opencode",
                 password: Callable[[], str | None] = lambda: None, bus: EventBus | None = None,
                 interval: Callable[[], float] = lambda: 5.0, timeout: Callable[[], float] = lambda: 2.0,
                 failures: Callable[[], int] = lambda: 3) -> None:
        self.id = server_id
        self.name = name
        self.url = url.rstrip("/")
        self.username = username
        self._password = password
        self._bus = bus
        self._timeout = timeout
        self._failures_allowed = failures
        self.counters = RequestCounters()
        self._lock = threading.Lock()
        self._client: OpenCodeClient | None = None
        self.state = "connecting"
        self.version: str | None = None
        self.error: str | None = None
        self._failures = 0
        self._since = time.time()
        self._history: list[dict[str, Any]] = []
        self._proc: Any = None  # psutil.Process of a server on this computer (CPU% needs the same object)
        self._worker = PeriodicWorker(f"nexus-server-{server_id}", interval(), self.check,
                                      what=f"health check of {name}")

    # ----- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._worker.start()
        self._worker.wake()  # the first check now, not after one interval

    def stop(self) -> None:
        self._worker.stop()
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # ----- what engines and panes use -------------------------------------------------------

    @property
    def client(self) -> OpenCodeClient:
        with self._lock:
            client = self._client
        if client is None or self.state not in ("running", "unhealthy"):
            raise NotRunning(f"The OpenCode server {self.name!r} is {self.state}.")
        return client

    @property
    def is_loopback(self) -> bool:
        return (urlparse(self.url).hostname or "") in LOOPBACK

    @property
    def pid(self) -> int | None:
        """The listening process when it runs on this computer (so CPU and memory can be shown)."""
        if not self.is_loopback or self.state not in ("running", "unhealthy"):
            return None
        return _listener_pid(urlparse(self.url).port or 80)

    def check(self) -> None:
        """One health check; the state changes (and is announced) only when it really does."""
        with self._lock:
            if self._client is None:
                self._client = OpenCodeClient(self.url, password=self._password(), username=self.username,
                                              counters=self.counters)
            client = self._client
        try:
            health = client.health(timeout=self._timeout())
            client.json("GET", "/path", timeout=self._timeout())  # needs the password when health does not
        except OpenCodeError as exc:
            self._failures += 1
            self.error = "Wrong password for this server." if exc.status == 401 else str(exc)
            gone = self._failures >= self._failures_allowed() or exc.status == 401
            self._set_state("unreachable" if gone else "unhealthy")
            return
        self._failures, self.error, self.version = 0, None, health.get("version")
        self._set_state("running")

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        previous, self.state, self._since = self.state, state, time.time()
        self._history.insert(0, {"at": self._since, "from": previous, "to": state, "detail": self.error or ""})
        del self._history[MAX_HISTORY:]
        log.info("OpenCode server %s (%s): %s -> %s", self.name, self.url, previous, state)
        if self._bus is not None:
            self._bus.publish(SERVERS_TOPIC, server=self.id, state=state, previous=previous)

    def status(self) -> dict[str, Any]:
        requests, errors = self.counters.snapshot()
        return {"id": self.id, "name": self.name, "url": self.url, "kind": "attached", "state": self.state,
                "since": self._since, "version": self.version, "error": self.error,
                "health_failures": self._failures, "local": self.is_loopback, "requests": requests,
                "errors": errors, "history": self._history[:10], **self._usage()}

    def _usage(self) -> dict[str, Any]:
        """CPU and memory, only when the server runs on this computer (its process is visible)."""
        import psutil

        pid = self.pid
        if pid is None:
            self._proc = None
            return {}
        try:
            if self._proc is None or self._proc.pid != pid:
                self._proc = psutil.Process(pid)
                self._proc.cpu_percent(None)  # the first reading only starts the measurement
            return {"pid": pid, "cpu_percent": self._proc.cpu_percent(None), "rss_bytes": self._proc.memory_info().rss}
        except psutil.Error:
            self._proc = None
            return {}

    def history(self, limit: int = 50, before_id: int | None = None) -> list[dict[str, Any]]:
        return self._history[:limit]


def _listener_pid(port: int) -> int | None:
    import psutil

    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                return conn.pid
    except (psutil.Error, OSError):
        return None
    return None
