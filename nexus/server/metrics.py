"""Samples the OpenCode server once a second: CPU, memory, threads, uptime, restarts, and
the requests and errors Nexus sent to it.

Per-second samples live in a bounded in-memory ring (the live charts); every
`metrics.store_every` seconds they are averaged into one row in the store (history that
survives a restart), and rows older than the retention are pruned.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil

from nexus.background import PeriodicWorker
from nexus.bus import EventBus
from nexus.server.repository import MetricsRepository
from nexus.server.supervisor import Supervisor
from nexus.settings import Settings

log = logging.getLogger(__name__)


class ProcessTreeMeter:
    """CPU% needs the same psutil.Process object between calls; this keeps them per pid."""

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}

    def measure(self, pid: int | None) -> tuple[float, int, int]:
        if pid is None:
            self._procs.clear()
            return 0.0, 0, 0
        import psutil  # on the sampler thread, once OpenCode runs: not on Nexus's start path

        try:
            root = self._procs.get(pid) or psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            self._procs.clear()
            return 0.0, 0, 0
        seen: dict[int, psutil.Process] = {}
        cpu, rss, threads = 0.0, 0, 0
        for proc in tree:
            proc = self._procs.get(proc.pid, proc)
            try:
                with proc.oneshot():
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
                    threads += proc.num_threads()
            except psutil.Error:
                continue
            seen[proc.pid] = proc
        self._procs = seen
        return cpu, rss, threads


SAMPLE_FIELDS = ("at", "state", "cpu_percent", "rss_bytes", "threads", "uptime", "restarts", "requests_total",
                 "errors_total", "requests", "errors")


class MetricsSampler:
    def __init__(self, supervisor: Supervisor, settings: Settings, bus: EventBus, repo: MetricsRepository,
                 *, interval: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self._supervisor = supervisor
        self._settings = settings
        self._bus = bus
        self._repo = repo
        self.interval = interval
        self._clock = clock
        self._meter = ProcessTreeMeter()
        self._lock = threading.Lock()
        # Each sample as a tuple of SAMPLE_FIELDS' values: 15 minutes of them take ~0.25 MB
        # instead of ~0.55 MB as dicts (the ring fills for its first 15 minutes; issue 13).
        self._history: collections.deque[tuple[Any, ...]] = collections.deque(
            maxlen=int(settings.current.metrics.history_seconds / interval))
        self._pending: list[dict[str, Any]] = []
        self._last_counts = (0, 0)
        self._last_prune = 0.0
        self._worker = PeriodicWorker("nexus-metrics", interval, self.sample, what="sampling metrics")

    def start(self) -> None:
        self._worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._worker.stop(timeout)
        self._flush()

    def sample(self) -> dict[str, Any]:
        sup = self._supervisor
        cpu, rss, threads = self._meter.measure(sup.pid)
        requests, errors = sup.counters.snapshot()
        last_requests, last_errors = self._last_counts
        self._last_counts = (requests, errors)
        sample = {
            "at": round(self._clock(), 3),
            "state": sup.state.value,
            "cpu_percent": round(cpu, 1),
            "rss_bytes": rss,
            "threads": threads,
            "uptime": round(sup.uptime(), 1),
            "restarts": sup.restart_count,
            "requests_total": requests,
            "errors_total": errors,
            "requests": requests - last_requests,
            "errors": errors - last_errors,
        }
        with self._lock:
            self._history.append(tuple(sample[field] for field in SAMPLE_FIELDS))
            self._pending.append(sample)
            due = self._pending and sample["at"] - self._pending[0]["at"] >= self._settings.current.metrics.store_every
        self._bus.publish("server.metrics", **sample)
        if due:
            self._flush()
        return sample

    def history(self, since: float | None = None) -> list[dict[str, Any]]:
        with self._lock:
            rows = list(self._history)
        return [dict(zip(SAMPLE_FIELDS, row, strict=True)) for row in rows if since is None or row[0] > since]

    def stored(self, since: float) -> list[dict[str, Any]]:
        return self._repo.since(since)

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        n = len(batch)
        row = {
            "at": batch[0]["at"],
            "resolution": round(batch[-1]["at"] - batch[0]["at"] + self.interval, 3),
            "cpu_percent": round(sum(s["cpu_percent"] for s in batch) / n, 2),
            "rss_bytes": max(s["rss_bytes"] for s in batch),
            "threads": max(s["threads"] for s in batch),
            "requests": sum(s["requests"] for s in batch),
            "errors": sum(s["errors"] for s in batch),
            "restarts": batch[-1]["restarts"],
        }
        try:
            self._repo.add(row)
            now = self._clock()
            if now - self._last_prune > 3600:
                self._last_prune = now
                self._repo.prune(now - self._settings.current.metrics.retention_days * 86400)
        except Exception:
            log.exception("could not store metrics")
