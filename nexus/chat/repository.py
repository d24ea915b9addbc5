"""Chat transcripts in the store: the only place with SQL for sessions, messages and parts.

Writes are upserts of whole messages and parts (the hub's transcript state is the truth
while a session is live). Search uses each database's own full-text search: SQLite's FTS5
table, PostgreSQL's tsvector column (migration 0011_postgres_search); LIKE only on a store
that has neither.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection

from nexus.chat import events as ev
from nexus.store.database import Database
from nexus.store.one_of import one_of
from nexus.store.schema import chat_messages, chat_parts, chat_sessions

_TOKEN_KEYS = ("input", "output", "reasoning", "cache_read", "cache_write")
_SESSION_FIELDS = ("title", "agent", "model", "directory", "state", "status", "engine", "engine_ref", "server",
                   "origin")
_PART_COLUMNS = {"id", "kind", "text", "message_id", "session_id", "index"}


def _tokens_from_row(row: Any) -> dict[str, int]:
    return {k: int(getattr(row, f"tokens_{k}") or 0) for k in _TOKEN_KEYS}


def _token_columns(tokens: dict[str, Any] | None) -> dict[str, int]:
    tokens = tokens or {}
    return {f"tokens_{k}": int(tokens.get(k) or 0) for k in _TOKEN_KEYS}


def _fit(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """What an engine sends, made storable everywhere: PostgreSQL enforces VARCHAR lengths and
    refuses NUL characters in text (SQLite takes both), so a long title from another client
    must not stop a transcript from being saved."""
    for key, value in values.items():
        if isinstance(value, str):
            if "\x00" in value:
                value = value.replace("\x00", "")
            length = getattr(table.c[key].type, "length", None)
            values[key] = value[:length] if length else value
    return values


def session_from_row(row: Any) -> dict[str, Any]:
    return {"id": row.id, "engine": row.engine, "engine_ref": row.engine_ref, "title": row.title,
            "agent": row.agent, "model": row.model, "directory": row.directory, "state": row.state,
            "status": row.status, "created_at": row.created_at, "updated_at": row.updated_at,
            "tokens": _tokens_from_row(row), "cost": row.cost, "last_seq": row.last_seq,
            "options": json.loads(row.options) if row.options else None,
            "server": row.server or "local", "origin": row.origin or "nexus",
            "parent_id": row.parent_id, "todos": json.loads(row.todos) if row.todos else [],
            "revert": json.loads(row.revert) if row.revert else None}


def message_from_row(row: Any) -> dict[str, Any]:
    return {"id": row.id, "role": row.role, "created_at": row.created_at, "completed_at": row.completed_at,
            "agent": row.agent, "model": row.model, "finish": row.finish,
            "error": json.loads(row.error) if row.error else None, "tokens": _tokens_from_row(row),
            "cost": row.cost, "parts": []}


def part_from_row(row: Any) -> dict[str, Any]:
    part = json.loads(row.data or "{}")
    part.update(id=row.id, kind=row.kind, message_id=row.message_id)
    if row.text is not None:
        part["text"] = row.text
    return part


class ChatRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.db = db  # for the session's other stores (nexus/chat/pending.py)
        self.fts = db.is_sqlite and self._has_fts()
        self.tsvector = db.is_postgres and self._has_tsvector()

    def _one_of(self, column: Any, values: Iterable[str]) -> Any:
        """`column IN values` in one SQL text for any number of values (nexus/store/one_of.py)."""
        return one_of(column, values, postgres=self._db.is_postgres)

    def _has_fts(self) -> bool:
        with self._db.engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'chat_search'")).scalar())

    def _has_tsvector(self) -> bool:
        with self._db.engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'chat_parts' AND column_name = 'search_vector'")).scalar())

    # ----- sessions ---------------------------------------------------------------------------

    def create_session(self, session: dict[str, Any]) -> None:
        now = time.time()
        with self._db.engine.begin() as conn:
            conn.execute(insert(chat_sessions).values(_fit(chat_sessions, dict(
                id=session["id"], engine=session["engine"], engine_ref=session.get("engine_ref"),
                title=session.get("title") or "", agent=session.get("agent"), model=session.get("model"),
                directory=session.get("directory"), state=session.get("state", "active"),
                status=session.get("status", "idle"), created_at=session.get("created_at", now),
                updated_at=session.get("updated_at", now), last_seq=0, cost=0.0,
                options=json.dumps(session["options"]) if session.get("options") else None,
                parent_id=session.get("parent_id"),
                server=None if session.get("server") in (None, "local") else session["server"],
                origin=session.get("origin"), **_token_columns(session.get("tokens"))))))

    def get_session(self, session_id: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
        query = select(chat_sessions).where(chat_sessions.c.id == session_id)
        if not include_deleted:
            query = query.where(chat_sessions.c.deleted_at.is_(None))
        with self._db.engine.connect() as conn:
            row = conn.execute(query).first()
        return session_from_row(row) if row else None

    def find_by_engine_ref(self, engine: str, ref: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
        query = select(chat_sessions).where(chat_sessions.c.engine == engine, chat_sessions.c.engine_ref == ref)
        if not include_deleted:
            query = query.where(chat_sessions.c.deleted_at.is_(None))
        with self._db.engine.connect() as conn:
            row = conn.execute(query).first()
        return session_from_row(row) if row else None

    def list_sessions(self, *, state: str | None = "active", limit: int = 50, offset: int = 0,
                      query: str | None = None, agent: str | None = None, model: str | None = None,
                      created_from: float | None = None, created_to: float | None = None,
                      directory: str | None = None, server: str | None = None, children: bool = False
                      ) -> tuple[list[dict[str, Any]], int]:
        """`state` "deleted" lists the deleted sessions that can still be restored. Sub-agent
        sessions (with a parent) are listed under their parent, unless `children`."""
        deleted_at = chat_sessions.c.deleted_at
        conditions: list[Any] = [deleted_at.is_not(None) if state == "deleted" else deleted_at.is_(None)]
        if not children:
            conditions.append(chat_sessions.c.parent_id.is_(None))
        if state and state != "deleted":
            conditions.append(chat_sessions.c.state == state)
        if query:
            conditions.append(self._one_of(chat_sessions.c.id, self._matching_session_ids(query, deleted=state == "deleted")))
        if agent:
            conditions.append(chat_sessions.c.agent == agent)
        if model:
            conditions.append(chat_sessions.c.model == model)
        if created_from is not None:
            conditions.append(chat_sessions.c.created_at >= created_from)
        if created_to is not None:
            conditions.append(chat_sessions.c.created_at < created_to)
        if directory:
            conditions.append(chat_sessions.c.directory == directory)
        if server:
            conditions.append(chat_sessions.c.server.is_(None) if server == "local"
                              else chat_sessions.c.server == server)
        where = and_(*conditions)
        with self._db.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(chat_sessions).where(where)).scalar() or 0
            rows = conn.execute(select(chat_sessions).where(where)
                                .order_by(chat_sessions.c.updated_at.desc(), chat_sessions.c.id)
                                .limit(limit).offset(offset)).all()
        return [session_from_row(r) for r in rows], total

    def agents_and_models_used(self, session_ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """session id -> (agent, model) of its newest assistant message that names them: what a
        session started with OpenCode's defaults really used."""
        if not session_ids:
            return {}
        newest = (select(chat_messages.c.session_id, func.max(chat_messages.c.created_at).label("at"))
                  .where(self._one_of(chat_messages.c.session_id, session_ids), chat_messages.c.role == "assistant",
                         chat_messages.c.model.is_not(None))
                  .group_by(chat_messages.c.session_id).subquery())
        query = select(chat_messages.c.session_id, chat_messages.c.agent, chat_messages.c.model).join(
            newest, and_(chat_messages.c.session_id == newest.c.session_id, chat_messages.c.created_at == newest.c.at))
        with self._db.engine.connect() as conn:
            return {sid: (agent, model) for sid, agent, model in conn.execute(query)}

    def session_facets(self) -> dict[str, list[str]]:
        """The agents and models sessions were started with (the choices of a filter)."""
        with self._db.engine.connect() as conn:
            return {name: sorted(v for (v,) in conn.execute(select(column).where(column.is_not(None)).distinct()))
                    for name, column in (("agents", chat_sessions.c.agent), ("models", chat_sessions.c.model))}

    def count_active(self) -> int:
        """Open sessions started in Nexus: sessions adopted from other OpenCode clients are not
        counted, so a busy terminal client never blocks the owner from starting one here."""
        with self._db.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(chat_sessions).where(
                chat_sessions.c.state == "active", chat_sessions.c.deleted_at.is_(None),
                chat_sessions.c.parent_id.is_(None),
                or_(chat_sessions.c.origin.is_(None), chat_sessions.c.origin != "adopted"))).scalar() or 0

    def project_counts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(server, directory) -> (open sessions, all sessions), deleted ones left out."""
        with self._db.engine.connect() as conn:
            columns = (chat_sessions.c.server, chat_sessions.c.directory, chat_sessions.c.state)
            rows = conn.execute(select(*columns, func.count())
                                .where(chat_sessions.c.deleted_at.is_(None), chat_sessions.c.directory.is_not(None))
                                .group_by(*columns)).all()
        counts: dict[tuple[str, str], tuple[int, int]] = {}
        for server, directory, state, n in rows:
            key = (server or "local", directory)
            active, total = counts.get(key, (0, 0))
            counts[key] = (active + (n if state == "active" else 0), total + n)
        return counts

    def update_session(self, session_id: str, **fields: Any) -> None:
        values: dict[str, Any] = {k: v for k, v in fields.items() if k in _SESSION_FIELDS or k in
                                  ("deleted_at", "last_seq", "cost", "updated_at")}
        if "tokens" in fields:
            values.update(_token_columns(fields["tokens"]))
        values.setdefault("updated_at", time.time())
        with self._db.engine.begin() as conn:
            conn.execute(update(chat_sessions).where(chat_sessions.c.id == session_id)
                         .values(**_fit(chat_sessions, values)))

    def deleted_before(self, cutoff: float, limit: int = 500) -> list[dict[str, Any]]:
        """Sessions deleted before `cutoff` (UNIX seconds): what retention purges."""
        with self._db.engine.connect() as conn:
            rows = conn.execute(select(chat_sessions.c.id, chat_sessions.c.engine, chat_sessions.c.engine_ref).where(
                chat_sessions.c.deleted_at.is_not(None), chat_sessions.c.deleted_at < cutoff)
                .limit(limit)).mappings().all()
        return [dict(r) for r in rows]

    def purge_session(self, session_id: str) -> None:
        with self._db.engine.begin() as conn:
            if self.fts:
                conn.execute(text("DELETE FROM chat_search WHERE session_id = :s"), {"s": session_id})
            conn.execute(delete(chat_parts).where(chat_parts.c.session_id == session_id))
            conn.execute(delete(chat_messages).where(chat_messages.c.session_id == session_id))
            conn.execute(delete(chat_sessions).where(chat_sessions.c.id == session_id))

    # ----- messages and parts -------------------------------------------------------------------

    def load_messages(self, session_id: str, *, limit: int | None = None,
                      before: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        """The newest `limit` messages (older than message `before`), oldest first, and
        whether older ones exist."""
        # NULLs sort alike everywhere
        order = (chat_messages.c.created_at.desc().nulls_last(), chat_messages.c.id.desc())
        query = select(chat_messages).where(chat_messages.c.session_id == session_id)
        with self._db.engine.connect() as conn:
            if before is not None:
                anchor = conn.execute(select(chat_messages.c.created_at, chat_messages.c.id)
                                      .where(chat_messages.c.id == before)).first()
                if anchor is not None:
                    query = query.where(or_(chat_messages.c.created_at < anchor.created_at,
                                            and_(chat_messages.c.created_at == anchor.created_at,
                                                 chat_messages.c.id < anchor.id)))
            rows = conn.execute(query.order_by(*order).limit((limit + 1) if limit else None)).all()
            has_more = bool(limit) and len(rows) > (limit or 0)
            rows = list(reversed(rows[:limit] if limit else rows))
            messages = [message_from_row(r) for r in rows]
            by_id = {m["id"]: m for m in messages}
            if by_id:
                for prow in conn.execute(select(chat_parts).where(self._one_of(chat_parts.c.message_id, by_id))
                                         .order_by(chat_parts.c.message_id, chat_parts.c.position)):
                    by_id[prow.message_id]["parts"].append(part_from_row(prow))
        return messages, has_more

    def save(self, session: dict[str, Any] | None, last_seq: int | None, messages: Iterable[dict[str, Any]],
             parts: Iterable[tuple[int, dict[str, Any]]]) -> None:
        """Upsert messages and (position, part) pairs and the session's counters, in one transaction."""
        now = time.time()
        with self._db.engine.begin() as conn:
            for message in messages:
                self._upsert_message(conn, message)
            for position, part in parts:
                self._upsert_part(conn, part, position, now)
            if session is not None:
                values: dict[str, Any] = {k: session.get(k) for k in ("title", "agent", "model", "status", "state")
                                          if k in session}
                values.update(_token_columns(session.get("tokens")), cost=float(session.get("cost") or 0.0),
                              updated_at=now)
                if "todos" in session:
                    values["todos"] = json.dumps(session["todos"]) if session["todos"] else None
                if "revert" in session:
                    values["revert"] = json.dumps(session["revert"]) if session["revert"] else None
                if last_seq is not None:
                    values["last_seq"] = last_seq
                conn.execute(update(chat_sessions).where(chat_sessions.c.id == session["id"])
                             .values(**_fit(chat_sessions, values)))

    def _upsert_message(self, conn: Connection, message: dict[str, Any]) -> None:
        values = {"role": message.get("role") or "assistant", "created_at": message.get("created_at"),
                  "completed_at": message.get("completed_at"), "agent": message.get("agent"),
                  "model": message.get("model"), "finish": message.get("finish"),
                  "error": json.dumps(message["error"]) if message.get("error") else None,
                  "cost": float(message.get("cost") or 0.0), **_token_columns(message.get("tokens"))}
        _fit(chat_messages, values)
        done = conn.execute(update(chat_messages).where(chat_messages.c.id == message["id"]).values(**values)).rowcount
        if not done:
            conn.execute(insert(chat_messages).values(id=message["id"], session_id=message["session_id"], **values))

    def _upsert_part(self, conn: Connection, part: dict[str, Any], position: int, now: float) -> None:
        data = {k: v for k, v in part.items() if k not in _PART_COLUMNS}
        text_value = part.get("text") if part.get("kind") in ("text", "reasoning") else None
        values = _fit(chat_parts, {"kind": part.get("kind") or "text", "text": text_value, "data": json.dumps(data),
                          "position": position, "updated_at": now})
        text_value = values["text"]
        done = conn.execute(update(chat_parts).where(chat_parts.c.id == part["id"]).values(**values)).rowcount
        if not done:
            conn.execute(insert(chat_parts).values(id=part["id"], message_id=part["message_id"],
                                          session_id=part["session_id"], **values))
        if self.fts and part.get("kind") == "text" and part.get("index", True):
            conn.execute(text("DELETE FROM chat_search WHERE part_id = :p"), {"p": part["id"]})
            if text_value:
                conn.execute(text("INSERT INTO chat_search (text, part_id, session_id) VALUES (:t, :p, :s)"),
                             {"t": text_value, "p": part["id"], "s": part["session_id"]})

    def delete_messages(self, message_ids: Iterable[str]) -> None:
        """Messages an undo took back for good (OpenCode dropped them at the next prompt)."""
        ids = list(message_ids)
        if not ids:
            return
        with self._db.engine.begin() as conn:
            if self.fts:
                for message_id in ids:
                    conn.execute(text("DELETE FROM chat_search WHERE part_id IN "
                                      "(SELECT id FROM chat_parts WHERE message_id = :m)"), {"m": message_id})
            conn.execute(delete(chat_parts).where(self._one_of(chat_parts.c.message_id, ids)))
            conn.execute(delete(chat_messages).where(self._one_of(chat_messages.c.id, ids)))

    def message_session(self, message_id: str) -> str | None:
        with self._db.engine.connect() as conn:
            return conn.execute(select(chat_messages.c.session_id).where(chat_messages.c.id == message_id)).scalar()

    def children(self, parent_id: str) -> list[dict[str, Any]]:
        """The sub-agent sessions a session's agent started, oldest first."""
        with self._db.engine.connect() as conn:
            rows = conn.execute(select(chat_sessions)
                                .where(chat_sessions.c.parent_id == parent_id, chat_sessions.c.deleted_at.is_(None))
                                .order_by(chat_sessions.c.created_at, chat_sessions.c.id)).all()
        return [session_from_row(r) for r in rows]

    # ----- search --------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 20, *, deleted: bool = False) -> list[dict[str, Any]]:
        """Sessions whose message text matches, best first, with a snippet (deleted ones when asked)."""
        terms = _terms(query)
        if not terms:
            return []
        with self._db.engine.connect() as conn:
            if self.fts:
                rows = conn.execute(text(
                    "SELECT session_id, part_id, snippet(chat_search, 0, '[', ']', '…', 12) AS snippet "
                    "FROM chat_search WHERE chat_search MATCH :q ORDER BY rank LIMIT :n"),
                    {"q": " ".join(f'"{t}"' for t in terms), "n": limit * 5}).all()
            elif self.tsvector:
                rows = _postgres_hits(conn, terms, limit * 5)
            else:
                like = [chat_parts.c.text.ilike(f"%{t}%") for t in terms]
                rows = conn.execute(select(chat_parts.c.session_id, chat_parts.c.id.label("part_id"),
                                           func.substr(chat_parts.c.text, 1, 160).label("snippet"))
                                    .where(chat_parts.c.kind == "text", *like).limit(limit * 5)).all()
            hits: dict[str, dict[str, Any]] = {}
            for row in rows:
                if row.session_id not in hits:
                    hits[row.session_id] = {"session_id": row.session_id, "part_id": row.part_id,
                                            "snippet": row.snippet}
            if not hits:
                return []
            deleted_at = chat_sessions.c.deleted_at
            live = {r.id: session_from_row(r) for r in conn.execute(
                select(chat_sessions).where(self._one_of(chat_sessions.c.id, hits),
                                            deleted_at.is_not(None) if deleted else deleted_at.is_(None)))}
        return [{**hit, "session": live[sid]} for sid, hit in hits.items() if sid in live][:limit]

    def _matching_session_ids(self, query: str, deleted: bool = False) -> list[str]:
        return [hit["session_id"] for hit in self.search(query, limit=500, deleted=deleted)]


# ts_headline made to look like FTS5's snippet(): matches in [brackets], about a dozen words.
_HEADLINE = "StartSel=[, StopSel=], MaxWords=12, MinWords=4, ShortWord=0, MaxFragments=1, FragmentDelimiter=…"


def _postgres_hits(conn: Connection, terms: list[str], limit: int) -> list[Any]:
    """Ranked matches from the GIN-indexed tsvector column; snippets only for the rows returned
    (ts_headline re-parses the text, so it runs after the LIMIT)."""
    rows = conn.execute(text(
        "WITH q AS (SELECT plainto_tsquery('simple', :q) AS query), "
        "best AS (SELECT p.session_id, p.id AS part_id, p.text, ts_rank(p.search_vector, q.query) AS rank "
        "         FROM chat_parts p, q WHERE p.search_vector @@ q.query "
        "         ORDER BY rank DESC, p.updated_at DESC LIMIT :n) "
        "SELECT best.session_id, best.part_id, best.text, "
        "       ts_headline('simple', best.text, q.query, :options) AS snippet "
        "FROM best, q ORDER BY best.rank DESC"),
        {"q": " ".join(terms), "n": limit, "options": _HEADLINE}).all()
    return [_Hit(r.session_id, r.part_id, _with_ellipses(r.snippet, r.text or "")) for r in rows]


class _Hit:
    __slots__ = ("part_id", "session_id", "snippet")

    def __init__(self, session_id: str, part_id: str, snippet: str) -> None:
        self.session_id, self.part_id, self.snippet = session_id, part_id, snippet


def _with_ellipses(snippet: str, whole: str) -> str:
    """Mark text cut off before or after the snippet with …, as FTS5 does."""
    plain = snippet.replace("[", "").replace("]", "").strip()
    shown = snippet.strip()
    if plain and not whole.lstrip().startswith(plain):
        shown = "…" + shown
    if plain and not whole.rstrip().endswith(plain):
        shown += "…"
    return shown


def _terms(query: str) -> list[str]:
    # Quoted words only: FTS5 syntax in user input (AND, NEAR, *, ") must not be interpreted.
    return [t for t in re.findall(r"\w+", query, flags=re.UNICODE)][:12]


def tokens_sum(messages: Iterable[dict[str, Any]]) -> dict[str, int]:
    total = ev.empty_tokens()
    for message in messages:
        for key in total:
            total[key] += int((message.get("tokens") or {}).get(key, 0))
    return total
