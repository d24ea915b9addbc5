"""The only SQL for the security tables (owner, sessions, API keys, audit log, setup progress)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult  # what execute() returns for a DELETE/UPDATE

from nexus.store.database import Database
from nexus.store.schema import ApiKey, ApiKeyGrant, AuditEvent, AuthOwner, AuthSession, SetupProgress

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
        with self._db.session() as s:
            row = s.get(AuthOwner, OWNER_ID)
            if row is None:
                return None
            return OwnerRecord(row.username, row.password_hash, json.loads(row.hash_params), row.password_changed_at,
                               row.failed_count, row.failed_since, row.locked_until)

    def save_owner(self, username: str, password_hash: str, params: dict[str, int | str]) -> None:
        now = time.time()
        with self._db.session() as s:
            row = s.get(AuthOwner, OWNER_ID)
            if row is None:
                s.add(AuthOwner(id=OWNER_ID, username=username, password_hash=password_hash,
                                hash_params=json.dumps(params), created_at=now, password_changed_at=now,
                                failed_count=0))
            else:
                row.username, row.password_hash, row.hash_params = username, password_hash, json.dumps(params)
                row.password_changed_at = now

    def rehash_owner(self, password_hash: str, params: dict[str, int | str]) -> None:
        with self._db.session() as s:
            s.execute(update(AuthOwner).where(AuthOwner.id == OWNER_ID)
                      .values(password_hash=password_hash, hash_params=json.dumps(params)))

    def set_failures(self, count: int, since: float | None, locked_until: float | None) -> None:
        with self._db.session() as s:
            s.execute(update(AuthOwner).where(AuthOwner.id == OWNER_ID)
                      .values(failed_count=count, failed_since=since, locked_until=locked_until))

    # --- sessions -----------------------------------------------------------------------
    def add_session(self, record: SessionRecord) -> None:
        with self._db.session() as s:
            s.add(AuthSession(**asdict(record)))

    def session(self, session_id: str) -> SessionRecord | None:
        with self._db.session() as s:
            row = s.get(AuthSession, session_id)
            return None if row is None else SessionRecord(row.id, row.kind, row.created_at, row.last_seen_at,
                                                          row.expires_at, row.ip, row.via, row.client)

    def touch_session(self, session_id: str, at: float) -> None:
        with self._db.session() as s:
            s.execute(update(AuthSession).where(AuthSession.id == session_id).values(last_seen_at=at))

    def delete_session(self, session_id: str) -> None:
        with self._db.session() as s:
            s.execute(delete(AuthSession).where(AuthSession.id == session_id))

    def delete_sessions_except(self, keep: str | None) -> int:
        with self._db.session() as s:
            query = delete(AuthSession)
            if keep is not None:
                query = query.where(AuthSession.id != keep)
            return cast(CursorResult[Any], s.execute(query)).rowcount or 0

    def delete_sessions_of_kind(self, kind: str) -> int:
        with self._db.session() as s:
            return cast(CursorResult[Any], s.execute(delete(AuthSession).where(AuthSession.kind == kind))).rowcount or 0

    def count_sessions(self) -> int:
        with self._db.session() as s:
            return len(list(s.scalars(select(AuthSession.id))))

    def prune_sessions(self, now: float, idle_seconds: float) -> None:
        with self._db.session() as s:
            s.execute(delete(AuthSession).where(
                (AuthSession.expires_at < now) | (AuthSession.last_seen_at < now - idle_seconds)))

    # --- API keys -----------------------------------------------------------------------
    def add_key(self, name: str, prefix: str, key_hash: str, scopes: tuple[str, ...] = ("read",),
                remote: bool = False) -> KeyRecord:
        with self._db.session() as s:
            row = ApiKey(name=name, prefix=prefix, key_hash=key_hash, created_at=time.time())
            s.add(row)
            s.flush()
            grant = ApiKeyGrant(key_id=row.id, scopes=",".join(scopes), remote=remote, last_used_ip="",
                                last_used_via="")
            s.add(grant)
            s.flush()
            return _key(row, grant)

    def keys(self, include_revoked: bool = True) -> list[KeyRecord]:
        query = select(ApiKey).order_by(ApiKey.id.desc())
        if not include_revoked:
            query = query.where(ApiKey.revoked_at.is_(None))
        with self._db.session() as s:
            rows = list(s.scalars(query))
            grants = {g.key_id: g for g in s.scalars(select(ApiKeyGrant))}
            return [_key(r, grants.get(r.id)) for r in rows]

    def key_by_hash(self, key_hash: str) -> KeyRecord | None:
        with self._db.session() as s:
            row = s.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash)).first()
            return None if row is None else _key(row, s.get(ApiKeyGrant, row.id))

    def touch_key(self, key_id: int, at: float, ip: str = "", via: str = "") -> None:
        with self._db.session() as s:
            s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))
            grant = s.get(ApiKeyGrant, key_id)
            if grant is None:  # a key from before scopes: read-only, local-only
                grant = ApiKeyGrant(key_id=key_id, scopes="read", remote=False)
                s.add(grant)
            grant.last_used_ip, grant.last_used_via = ip[:64], via[:20]

    def revoke_key(self, key_id: int) -> KeyRecord | None:
        with self._db.session() as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                return None
            if row.revoked_at is None:
                row.revoked_at = time.time()
            return _key(row, s.get(ApiKeyGrant, row.id))

    # --- audit log ------------------------------------------------------------------------
    def add_event(self, event: str, ip: str, via: str, detail: str) -> dict[str, Any]:
        with self._db.session() as s:
            row = AuditEvent(at=time.time(), event=event, ip=ip, via=via, detail=detail)
            s.add(row)
            s.flush()
            return _event(row)

    def events(self, limit: int = 100, before_id: int | None = None) -> list[dict[str, Any]]:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        with self._db.session() as s:
            return [_event(r) for r in s.scalars(query)]

    # --- setup progress -------------------------------------------------------------------
    def setup_progress(self) -> tuple[str, float | None] | None:
        with self._db.session() as s:
            row = s.get(SetupProgress, OWNER_ID)
            return None if row is None else (row.step, row.completed_at)

    def save_setup_progress(self, step: str, completed_at: float | None) -> None:
        with self._db.session() as s:
            row = s.get(SetupProgress, OWNER_ID)
            if row is None:
                s.add(SetupProgress(id=OWNER_ID, step=step, completed_at=completed_at, updated_at=time.time()))
            else:
                row.step, row.completed_at, row.updated_at = step, completed_at, time.time()


def _key(row: ApiKey, grant: ApiKeyGrant | None = None) -> KeyRecord:
    if grant is None:
        return KeyRecord(row.id, row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at)
    return KeyRecord(row.id, row.name, row.prefix, row.created_at, row.last_used_at, row.revoked_at,
                     tuple(s for s in grant.scopes.split(",") if s), bool(grant.remote), grant.last_used_ip,
                     grant.last_used_via)


def _event(row: AuditEvent) -> dict[str, Any]:
    return {"id": row.id, "at": row.at, "event": row.event, "ip": row.ip, "via": row.via, "detail": row.detail}
