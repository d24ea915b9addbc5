"""SQL for the notifications table: add, list, mark read, clear, keep it bounded."""

from __future__ import annotations

import time
from typing import Any, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult  # what execute() returns for a DELETE/UPDATE

from nexus.store.database import Database
from nexus.store.schema import NotificationRow


def _to_json(row: NotificationRow) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "kind": row.kind, "level": row.level, "title": row.title,
            "body": row.body, "link": row.link, "read": row.read_at is not None}


class NotificationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, *, kind: str, level: str, title: str, body: str = "", link: str = "",
            at: float | None = None) -> dict[str, Any]:
        with self._db.session() as s:
            row = NotificationRow(at=at if at is not None else time.time(), kind=kind, level=level,
                                  title=title[:200], body=body[:2000], link=link[:300])
            s.add(row)
            s.flush()
            return _to_json(row)

    def recent(self, limit: int = 50, before_id: int | None = None, unread_only: bool = False) -> list[dict[str, Any]]:
        query = select(NotificationRow).order_by(NotificationRow.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(NotificationRow.id < before_id)
        if unread_only:
            query = query.where(NotificationRow.read_at.is_(None))
        with self._db.session() as s:
            return [_to_json(row) for row in s.scalars(query)]

    def unread_count(self) -> int:
        with self._db.session() as s:
            return s.scalar(select(func.count()).select_from(NotificationRow)
                            .where(NotificationRow.read_at.is_(None))) or 0

    def count(self) -> int:
        with self._db.session() as s:
            return s.scalar(select(func.count()).select_from(NotificationRow)) or 0

    def mark_read(self, ids: list[int] | None = None) -> int:
        """Mark these (or, with None, all) unread notifications read; returns how many changed."""
        query = update(NotificationRow).where(NotificationRow.read_at.is_(None)).values(read_at=time.time())
        if ids is not None:
            query = query.where(NotificationRow.id.in_(ids))
        with self._db.session() as s:
            return cast(CursorResult[Any], s.execute(query)).rowcount or 0

    def clear(self) -> int:
        with self._db.session() as s:
            return cast(CursorResult[Any], s.execute(delete(NotificationRow))).rowcount or 0

    def keep_newest(self, keep: int) -> int:
        """Delete all but the newest `keep` notifications; returns how many went."""
        with self._db.session() as s:
            cutoff = s.scalar(select(NotificationRow.id).order_by(NotificationRow.id.desc()).offset(keep).limit(1))
            if cutoff is None:
                return 0
            return cast(CursorResult[Any], s.execute(delete(NotificationRow).where(NotificationRow.id <= cutoff))).rowcount or 0
