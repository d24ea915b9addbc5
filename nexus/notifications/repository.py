"""SQL for the notifications table: add, list, mark read, clear, keep it bounded."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from nexus.store.database import Database, inserted_id
from nexus.store.schema import notifications


def _to_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "kind": row.kind, "level": row.level, "title": row.title,
            "body": row.body, "link": row.link, "read": row.read_at is not None}


class NotificationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, *, kind: str, level: str, title: str, body: str = "", link: str = "",
            at: float | None = None) -> dict[str, Any]:
        values = {"at": at if at is not None else time.time(), "kind": kind, "level": level,
                  "title": title[:200], "body": body[:2000], "link": link[:300]}
        with self._db.engine.begin() as conn:
            notification_id = inserted_id(conn.execute(insert(notifications).values(**values)))
        return {"id": notification_id, **values, "read": False}

    def recent(self, limit: int = 50, before_id: int | None = None, unread_only: bool = False) -> list[dict[str, Any]]:
        query = select(notifications).order_by(notifications.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(notifications.c.id < before_id)
        if unread_only:
            query = query.where(notifications.c.read_at.is_(None))
        with self._db.engine.connect() as conn:
            return [_to_json(row) for row in conn.execute(query)]

    def unread_count(self) -> int:
        with self._db.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(notifications)
                                .where(notifications.c.read_at.is_(None))).scalar() or 0

    def count(self) -> int:
        with self._db.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(notifications)).scalar() or 0

    def mark_read(self, ids: list[int] | None = None) -> int:
        """Mark these (or, with None, all) unread notifications read; returns how many changed."""
        query = update(notifications).where(notifications.c.read_at.is_(None)).values(read_at=time.time())
        if ids is not None:
            query = query.where(notifications.c.id.in_(ids))
        with self._db.engine.begin() as conn:
            return conn.execute(query).rowcount or 0

    def clear(self) -> int:
        with self._db.engine.begin() as conn:
            return conn.execute(delete(notifications)).rowcount or 0

    def keep_newest(self, keep: int) -> int:
        """Delete all but the newest `keep` notifications; returns how many went."""
        with self._db.engine.begin() as conn:
            cutoff = conn.execute(select(notifications.c.id).order_by(notifications.c.id.desc())
                                  .offset(keep).limit(1)).scalar()
            if cutoff is None:
                return 0
            return conn.execute(delete(notifications).where(notifications.c.id <= cutoff)).rowcount or 0
