"""What waits on a chat session, kept in the store so it survives restarts: questions the
agent asked (until answered) and messages queued while the agent worked (until sent).
The only place with SQL for the `chat_pending` table."""

from __future__ import annotations

import json
import time
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update

from nexus.store.database import Database
from nexus.store.schema import ChatPendingRow

T = cast(Table, ChatPendingRow.__table__)  # __table__ is typed FromClause; on a declarative class it is always a Table

QUESTION = "question"
QUEUED = "queued"


class PendingStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, session_id: str, kind: str, item_id: str, data: dict[str, Any]) -> None:
        """Insert or replace one item (a question asked again, detached, replaces itself)."""
        with self._db.engine.begin() as conn:
            found = conn.execute(select(T.c.id).where(T.c.id == item_id)).first()
            if found:
                conn.execute(update(T).where(T.c.id == item_id).values(data=json.dumps(data)))
            else:
                conn.execute(insert(T).values(id=item_id, session_id=session_id, kind=kind,
                                              created_at=time.time(), data=json.dumps(data)))

    def remove(self, item_id: str) -> bool:
        with self._db.engine.begin() as conn:
            return bool(conn.execute(delete(T).where(T.c.id == item_id)).rowcount)

    def items(self, session_id: str, kind: str) -> list[dict[str, Any]]:
        """Oldest first."""
        with self._db.engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.session_id == session_id, T.c.kind == kind)
                                .order_by(T.c.created_at, T.c.id)).all()
        return [json.loads(row.data) for row in rows]
