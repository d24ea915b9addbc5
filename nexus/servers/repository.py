"""The attached OpenCode servers in the store (their passwords are in the secret store)."""

from __future__ import annotations

import time
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update

from nexus.store.database import Database
from nexus.store.schema import OpenCodeServerRow

T = cast(Table, OpenCodeServerRow.__table__)  # __table__ is typed FromClause; on a declarative class it is always a Table


class ServerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[dict[str, Any]]:
        with self._db.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(T).order_by(T.c.created_at))]

    def add(self, server_id: str, name: str, url: str, username: str) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(insert(T).values(id=server_id, name=name, url=url, username=username,
                                          created_at=time.time()))

    def update(self, server_id: str, **fields: Any) -> None:
        values = {k: v for k, v in fields.items() if k in ("name", "url", "username")}
        if values:
            with self._db.engine.begin() as conn:
                conn.execute(update(T).where(T.c.id == server_id).values(**values))

    def remove(self, server_id: str) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(delete(T).where(T.c.id == server_id))
