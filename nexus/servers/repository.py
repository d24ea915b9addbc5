"""The attached OpenCode servers in the store (their passwords are in the secret store)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, insert, select, update

from nexus.store.database import Database
from nexus.store.schema import opencode_servers


class ServerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[dict[str, Any]]:
        with self._db.engine.connect() as conn:
            rows = conn.execute(select(opencode_servers).order_by(opencode_servers.c.created_at))
            return [dict(r._mapping) for r in rows]

    def add(self, server_id: str, name: str, url: str, username: str) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(insert(opencode_servers).values(id=server_id, name=name, url=url, username=username,
                                          created_at=time.time()))

    def update(self, server_id: str, **fields: Any) -> None:
        values = {k: v for k, v in fields.items() if k in ("name", "url", "username")}
        if values:
            with self._db.engine.begin() as conn:
                conn.execute(update(opencode_servers).where(opencode_servers.c.id == server_id).values(**values))

    def remove(self, server_id: str) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(delete(opencode_servers).where(opencode_servers.c.id == server_id))
