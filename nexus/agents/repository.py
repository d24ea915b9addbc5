"""Agent configurations in the store: the only place with SQL for them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select, update

from nexus.store.database import Database
from nexus.store.schema import agents

FIELDS = ("name", "engine", "model", "opencode_agent", "system_prompt", "tools", "temperature", "max_tokens",
          "thinking_budget")


def agent_from_row(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "engine": row.engine, "model": row.model,
            "opencode_agent": row.opencode_agent, "system_prompt": row.system_prompt,
            "tools": json.loads(row.tools) if row.tools is not None else None, "temperature": row.temperature,
            "max_tokens": row.max_tokens, "thinking_budget": row.thinking_budget, "created_at": row.created_at,
            "updated_at": row.updated_at}


def _columns(agent: dict[str, Any]) -> dict[str, Any]:
    values = {k: agent[k] for k in FIELDS if k in agent}
    if "tools" in values:
        values["tools"] = json.dumps(values["tools"]) if values["tools"] is not None else None
    return values


class AgentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self) -> list[dict[str, Any]]:
        with self._db.engine.connect() as conn:
            return [agent_from_row(r) for r in conn.execute(select(agents).order_by(agents.c.name))]

    def get(self, agent_id: str) -> dict[str, Any] | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(select(agents).where(agents.c.id == agent_id)).first()
        return agent_from_row(row) if row else None

    def name_taken(self, name: str, except_id: str | None = None) -> bool:
        query = select(agents.c.id).where(agents.c.name == name)
        if except_id:
            query = query.where(agents.c.id != except_id)
        with self._db.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def insert(self, agent: dict[str, Any]) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(insert(agents).values(id=agent["id"], created_at=agent["created_at"],
                                          updated_at=agent["updated_at"], **_columns(agent)))

    def update(self, agent_id: str, agent: dict[str, Any]) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(update(agents).where(agents.c.id == agent_id).values(updated_at=agent["updated_at"],
                                                                    **_columns(agent)))

    def delete(self, agent_id: str) -> bool:
        with self._db.engine.begin() as conn:
            return bool(conn.execute(delete(agents).where(agents.c.id == agent_id)).rowcount)
