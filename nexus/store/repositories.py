"""Small query objects over the tables; the only place that writes SQL for them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete, func, select
from sqlalchemy.engine import CursorResult  # what execute() returns for a DELETE/UPDATE

from nexus.store.database import Database
from nexus.store.schema import MetricSample, ServerRestart, Setting


class SettingsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def load_raw(self) -> dict[str, str]:
        """Key -> JSON text, undecoded, so one bad row cannot hide the others."""
        with self._db.session() as s:
            return {row.key: row.value for row in s.scalars(select(Setting))}

    def save(self, values: dict[str, Any]) -> None:
        at = time.time()
        with self._db.session() as s:
            for key, value in values.items():
                row = s.get(Setting, key)
                encoded = json.dumps(value)
                if row is None:
                    s.add(Setting(key=key, value=encoded, updated_at=at))
                else:
                    row.value, row.updated_at = encoded, at

    def delete(self, keys: list[str]) -> None:
        with self._db.session() as s:
            s.execute(delete(Setting).where(Setting.key.in_(keys)))


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
        with self._db.session() as s:
            row = ServerRestart(at=time.time(), reason=reason, detail=detail, exit_code=exit_code,
                                attempt=attempt, delay=delay, outcome=outcome)
            s.add(row)
            s.flush()
            return row.id

    def set_outcome(self, restart_id: int, outcome: str, detail: str | None = None) -> None:
        with self._db.session() as s:
            row = s.get(ServerRestart, restart_id)
            if row is not None:
                row.outcome = outcome
                if detail:
                    row.detail = f"{row.detail}; {detail}" if row.detail else detail

    def recent(self, limit: int = 50, before_id: int | None = None) -> list[RestartRecord]:
        query = select(ServerRestart).order_by(ServerRestart.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(ServerRestart.id < before_id)
        with self._db.session() as s:
            return [_restart_record(r) for r in s.scalars(query)]

    def count(self) -> int:
        with self._db.session() as s:
            return s.scalar(select(func.count()).select_from(ServerRestart)) or 0


def _restart_record(row: ServerRestart) -> RestartRecord:
    return RestartRecord(row.id, row.at, row.reason, row.detail, row.exit_code, row.attempt, row.delay, row.outcome)


class MetricsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, sample: dict[str, Any]) -> None:
        with self._db.session() as s:
            s.add(MetricSample(**sample))

    def since(self, since: float, limit: int = 10_000) -> list[dict[str, Any]]:
        query = (select(MetricSample).where(MetricSample.at >= since)
                 .order_by(MetricSample.at).limit(limit))
        with self._db.session() as s:
            return [
                {"at": r.at, "resolution": r.resolution, "cpu_percent": r.cpu_percent, "rss_bytes": r.rss_bytes,
                 "threads": r.threads, "requests": r.requests, "errors": r.errors, "restarts": r.restarts}
                for r in s.scalars(query)
            ]

    def prune(self, older_than: float) -> int:
        with self._db.session() as s:
            return cast(CursorResult[Any], s.execute(delete(MetricSample).where(MetricSample.at < older_than))).rowcount or 0
