"""What waits on a chat session, kept in the store so it survives restarts: questions the
agent asked (until answered) and messages queued while the agent worked (until sent).
The only place with SQL for the `chat_pending` table."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import delete, insert, select, update

from nexus.store.database import Database
from nexus.store.schema import chat_pending

QUESTION = "question"
QUEUED = "queued"


class PendingStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, session_id: str, kind: str, item_id: str, data: dict[str, Any]) -> None:
        """Insert or replace one item (a question asked again, detached, replaces itself)."""
        with self._db.engine.begin() as conn:
            found = conn.execute(select(chat_pending.c.id).where(chat_pending.c.id == item_id)).first()
            if found:
                conn.execute(update(chat_pending).where(chat_pending.c.id == item_id).values(data=json.dumps(data)))
            else:
                conn.execute(insert(chat_pending).values(id=item_id, session_id=session_id, kind=kind,
                                              created_at=time.time(), data=json.dumps(data)))

    def remove(self, item_id: str) -> bool:
        with self._db.engine.begin() as conn:
            return bool(conn.execute(delete(chat_pending).where(chat_pending.c.id == item_id)).rowcount)

    def items(self, session_id: str, kind: str) -> list[dict[str, Any]]:
        """Oldest first."""
        with self._db.engine.connect() as conn:
            rows = conn.execute(select(chat_pending)
                                .where(chat_pending.c.session_id == session_id, chat_pending.c.kind == kind)
                                .order_by(chat_pending.c.created_at, chat_pending.c.id)).all()
        return [json.loads(row.data) for row in rows]
