"""The only SQL for the security tables (owner, sessions, API keys, audit log, setup progress)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from nexus.store.database import Database, inserted_id
from nexus.store.schema import api_key_grants, api_keys, audit_events, auth_owner, auth_sessions, setup_progress

OWNER_ID = 1


@dataclass(frozen=True)
class OwnerRecord:
    username: str
    password_hash: str
    hash_params: dict[str, int]
    password_changed_at: float
    failed_count: int
    failed_since: float | None
    locked_until: float | None


@dataclass(frozen=True)
class SessionRecord:
    id: str
    kind: str
    created_at: float
    last_seen_at: float
    expires_at: float
    ip: str
    via: str
    client: str


@dataclass(frozen=True)
class KeyRecord:
    id: int
    name: str
    prefix: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None
    scopes: tuple[str, ...] = ("read",)
    remote: bool = False  # usable through the tunnel
    last_used_ip: str = ""
    last_used_via: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["scopes"] = list(self.scopes)
        return out


class AuthRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- owner ------------------------------------------------------------------------
    def owner(self) -> OwnerRecord | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(select(auth_owner).where(auth_owner.c.id == OWNER_ID)).first()
        if row is None:
            return None
        return OwnerRecord(row.username, row.password_hash, json.loads(row.hash_params), row.password_changed_at,
                           row.failed_count, row.failed_since, row.locked_until)

    def save_owner(self, username: str, password_hash: str, params: dict[str, int | str]) -> None:
        now = time.time()
        values = {"username": username, "password_hash": password_hash, "hash_params": json.dumps(params),
                  "password_changed_at": now}
        with self._db.engine.begin() as conn:
            changed = conn.execute(update(auth_owner).where(auth_owner.c.id == OWNER_ID).values(**values)).rowcount
            if not changed:
                conn.execute(insert(auth_owner).values(id=OWNER_ID, created_at=now, failed_count=0, **values))

    def rehash_owner(self, password_hash: str, params: dict[str, int | str]) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(update(auth_owner).where(auth_owner.c.id == OWNER_ID)
                         .values(password_hash=password_hash, hash_params=json.dumps(params)))

    def set_failures(self, count: int, since: float | None, locked_until: float | None) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(update(auth_owner).where(auth_owner.c.id == OWNER_ID)
                         .values(failed_count=count, failed_since=since, locked_until=locked_until))

    # --- sessions -----------------------------------------------------------------------
    def add_session(self, record: SessionRecord) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(insert(auth_sessions).values(**asdict(record)))

    def session(self, session_id: str) -> SessionRecord | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(select(auth_sessions).where(auth_sessions.c.id == session_id)).first()
        return None if row is None else SessionRecord(row.id, row.kind, row.created_at, row.last_seen_at,
                                                      row.expires_at, row.ip, row.via, row.client)

    def touch_session(self, session_id: str, at: float) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(update(auth_sessions).where(auth_sessions.c.id == session_id).values(last_seen_at=at))

    def delete_session(self, session_id: str) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(delete(auth_sessions).where(auth_sessions.c.id == session_id))

    def delete_sessions_except(self, keep: str | None) -> int:
        query = delete(auth_sessions)
        if keep is not None:
            query = query.where(auth_sessions.c.id != keep)
        with self._db.engine.begin() as conn:
            return conn.execute(query).rowcount or 0

    def delete_sessions_of_kind(self, kind: str) -> int:
        with self._db.engine.begin() as conn:
            return conn.execute(delete(auth_sessions).where(auth_sessions.c.kind == kind)).rowcount or 0

    def count_sessions(self) -> int:
        with self._db.engine.connect() as conn:
            return len(conn.execute(select(auth_sessions.c.id)).all())

    def prune_sessions(self, now: float, idle_seconds: float) -> None:
        with self._db.engine.begin() as conn:
            conn.execute(delete(auth_sessions).where(
                (auth_sessions.c.expires_at < now) | (auth_sessions.c.last_seen_at < now - idle_seconds)))

    # --- API keys -----------------------------------------------------------------------
    def add_key(self, name: str, prefix: str, key_hash: str, scopes: tuple[str, ...] = ("read",),
                remote: bool = False) -> KeyRecord:
        with self._db.engine.begin() as conn:
            key_id = inserted_id(conn.execute(insert(api_keys).values(name=name, prefix=prefix, key_hash=key_hash,
                                                                      created_at=time.time())))
            conn.execute(insert(api_key_grants).values(key_id=key_id, scopes=",".join(scopes), remote=remote,
                                                       last_used_ip="", last_used_via=""))
            return _key_by_id(conn, key_id)

    def keys(self, include_revoked: bool = True) -> list[KeyRecord]:
        query = select(api_keys).order_by(api_keys.c.id.desc())
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with self._db.engine.connect() as conn:
            rows = conn.execute(query).all()
            grants = {g.key_id: g for g in conn.execute(select(api_key_grants))}
        return [_key(r, grants.get(r.id)) for r in rows]

    def key_by_hash(self, key_hash: str) -> KeyRecord | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_hash == key_hash)).first()
            return None if row is None else _key(row, _grant(conn, row.id))

    def touch_key(self, key_id: int, at: float, ip: str = "", via: str = "") -> None:
        used = {"last_used_ip": ip[:64], "last_used_via": via[:20]}
        with self._db.engine.begin() as conn:
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at))
            changed = conn.execute(update(api_key_grants).where(api_key_grants.c.key_id == key_id)
                                   .values(**used)).rowcount
            if not changed:  # a key from before scopes: read-only, local-only
                conn.execute(insert(api_key_grants).values(key_id=key_id, scopes="read", remote=False, **used))

    def revoke_key(self, key_id: int) -> KeyRecord | None:
        with self._db.engine.begin() as conn:
            conn.execute(update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                         .values(revoked_at=time.time()))
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
            return None if row is None else _key(row, _grant(conn, key_id))

    # --- audit log ------------------------------------------------------------------------
    def add_event(self, event: str, ip: str, via: str, detail: str) -> dict[str, Any]:
        values = {"at": time.time(), "event": event, "ip": ip, "via": via, "detail": detail}
        with self._db.engine.begin() as conn:
            event_id = inserted_id(conn.execute(insert(audit_events).values(**values)))
        return {"id": event_id, **values}

    def events(self, limit: int = 100, before_id: int | None = None) -> list[dict[str, Any]]:
        query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(audit_events.c.id < before_id)
        with self._db.engine.connect() as conn:
            return [_event(r) for r in conn.execute(query)]

    # --- setup progress -------------------------------------------------------------------
    def setup_progress(self) -> tuple[str, float | None] | None:
        with self._db.engine.connect() as conn:
            row = conn.execute(select(setup_progress).where(setup_progress.c.id == OWNER_ID)).first()
        return None if row is None else (row.step, row.completed_at)

    def save_setup_progress(self, step: str, completed_at: float | None) -> None:
        values = {"step": step, "completed_at": completed_at, "updated_at": time.time()}
        with self._db.engine.begin() as conn:
            changed = conn.execute(update(setup_progress).where(setup_progress.c.id == OWNER_ID)
                                   .values(**values)).rowcount
            if not changed:
                conn.execute(insert(setup_progress).values(id=OWNER_ID, **values))


def _grant(conn: Connection, key_id: int) -> Any:
    return conn.execute(select(api_key_grants).where(api_key_grants.c.key_id == key_id)).first()


def _key_by_id(conn: Connection, key_id: int) -> KeyRecord:
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
    return _key(row, _grant(conn, key_id))


def _key(row: Any, grant: Any = None) -> KeyRecord:
    if grant is None:
        return KeyRecord(row.id, row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at)
    return KeyRecord(row.id, row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at,
                     tuple(s for s in grant.scopes.split(",") if s), bool(grant.remote), grant.last_used_ip,
                     grant.last_used_via)


def _event(row: Any) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "event": row.event, "ip": row.ip, "via": row.via, "detail": row.detail}
