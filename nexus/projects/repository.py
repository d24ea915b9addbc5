"""The folders the owner added as projects (and when each was last used)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import insert, select, update

from nexus.store.database import Database
from nexus.store.schema import projects


class ProjectRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def all(self) -> list[dict[str, Any]]:
        with self._db.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(projects).order_by(projects.c.used_at.desc()))]

    def touch(self, server: str, path: str) -> None:
        """Added now, or marked as just used."""
        now = time.time()
        with self._db.engine.begin() as conn:
            done = conn.execute(update(projects).where(projects.c.server == server, projects.c.path == path)
                                .values(used_at=now)).rowcount
            if not done:
                conn.execute(insert(projects).values(server=server, path=path, added_at=now, used_at=now))
