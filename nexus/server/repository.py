"""The OpenCode server's history in the store: its restarts and its downsampled metrics.
The only place with SQL for the `server_restarts` and `metric_samples` tables."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from nexus.store.database import Database, inserted_id
from nexus.store.schema import metric_samples, server_restarts


@dataclass(frozen=True)
class RestartRecord:
    id: int
    at: float
    reason: str
    detail: str
    exit_code: int | None
    attempt: int
    delay: float
    outcome: str

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


class RestartRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, *, reason: str, detail: str = "", exit_code: int | None = None,
            attempt: int = 0, delay: float = 0.0, outcome: str = "pending") -> int:
        with self._db.engine.begin() as conn:
            return inserted_id(conn.execute(insert(server_restarts).values(
                at=time.time(), reason=reason, detail=detail, exit_code=exit_code, attempt=attempt, delay=delay,
                outcome=outcome)))

    def set_outcome(self, restart_id: int, outcome: str, detail: str | None = None) -> None:
        with self._db.engine.begin() as conn:
            row = conn.execute(select(server_restarts.c.detail).where(server_restarts.c.id == restart_id)).first()
            if row is None:
                return
            values: dict[str, Any] = {"outcome": outcome}
            if detail:
                values["detail"] = f"{row.detail}; {detail}" if row.detail else detail
            conn.execute(update(server_restarts).where(server_restarts.c.id == restart_id).values(**values))

    def recent(self, limit: int = 50, before_id: int | None = None) -> list[RestartRecord]:
        query = select(server_restarts).order_by(server_restarts.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(server_restarts.c.id < before_id)
        with self._db.engine.connect() as conn:
            return [_restart_record(r) for r in conn.execute(query)]

    def count(self) -> int:
        with self._db.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(server_restarts)).scalar() or 0


def _restart_record(row: Any) -> RestartRecord:
    return RestartRecord(row.id, row.at, row.reason, row.detail, row.exit_code, row.attempt, row.delay, row.outcome)


class MetricsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, sample: dict[str, Any]) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(insert(metric_samples).values(**sample))

    def since(self, since: float, limit: int = 10_000) -> list[dict[str, Any]]:
        query = (select(metric_samples).where(metric_samples.c.at >= since)
                 .order_by(metric_samples.c.at).limit(limit))
        with self._db.engine.connect() as conn:
            return [
                {"at": r.at, "resolution": r.resolution, "cpu_percent": r.cpu_percent, "rss_bytes": r.rss_bytes,
                 "threads": r.threads, "requests": r.requests, "errors": r.errors, "restarts": r.restarts}
                for r in conn.execute(query)
            ]

    def prune(self, older_than: float) -> int:
        with self._db.engine.begin() as conn:
            return conn.execute(delete(metric_samples).where(metric_samples.c.at < older_than)).rowcount or 0
