"""The stored settings: key -> JSON text. The only place with SQL for the `settings` table."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import delete, insert, select, update

from nexus.store.database import Database
from nexus.store.schema import settings


class SettingsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def load_raw(self) -> dict[str, str]:
        """Key -> JSON text, undecoded, so one bad row cannot hide the others."""
        with self._db.engine.connect() as conn:
            return {row.key: row.value for row in conn.execute(select(settings.c.key, settings.c.value))}

    def save(self, values: dict[str, Any]) -> None:
        at = time.time()
        with self._db.engine.begin() as conn:
            for key, value in values.items():
                encoded = json.dumps(value)
                changed = conn.execute(update(settings).where(settings.c.key == key)
                                       .values(value=encoded, updated_at=at)).rowcount
                if not changed:
                    conn.execute(insert(settings).values(key=key, value=encoded, updated_at=at))

    def delete(self, keys: list[str]) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(delete(settings).where(settings.c.key.in_(keys)))
