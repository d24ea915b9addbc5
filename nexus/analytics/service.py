"""What the chat store says about usage in a range of local days.

Definitions (also shown on the page):
- A session counts in the range when it was created in it; deleted sessions still count
  (the work happened), purged ones are gone from the store.
- Messages, tokens and cost count by the message's creation time; tokens and cost are
  the assistant messages' usage as the engine reported it.
- A tool call counts by its message's time; it failed when its final status is `error`.
  The failure rate is failed / (completed + failed); calls still running are left out.
- Time to first token: OpenCode opens the assistant message when the model starts
  answering, so it is the time from a user message to the first assistant message after
  it in the same session. Only the time stamps the store keeps are used; the median is
  over the user messages in the range that got an answer.
- A session's outcome: deleted, archived, or (open sessions) how its last reply ended:
  finished, aborted, errored, running, or no reply.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Integer, and_, cast, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from nexus.analytics.days import LocalDays
from nexus.store.database import Database
from nexus.store.schema import chat_messages, chat_parts, chat_sessions

_TOKENS = ("input", "output", "reasoning", "cache_read", "cache_write")
_BUSY = ("busy", "retry", "waiting")


QUARTER = 900  # s. Every UTC offset in use is a whole number of quarter hours, so is every local midnight.


def _quarter_of(column: Any, days: LocalDays, sqlite: bool) -> ColumnElement[int]:
    """SQL: the quarter hour since the range began; SQL groups by it and Python maps the groups
    to local days (exact, cheap, portable). SQLite's CAST truncates, which is floor here (the
    caller keeps column >= begin); other databases round in CAST, so they get FLOOR."""
    offset = (column - days.begin) / QUARTER
    return cast(offset, Integer) if sqlite else cast(func.floor(offset), Integer)


def _in(column: Any, days: LocalDays) -> ColumnElement[bool]:
    return and_(column >= days.begin, column < days.finish)


class ChatAnalytics:
    def __init__(self, db: Database) -> None:
        self._db = db

    def report(self, days: LocalDays) -> dict[str, Any]:
        with self._db.engine.connect() as conn:
            per_day: list[dict[str, Any]] = [{"day": d, "sessions": 0, "messages": 0, "cost": 0.0, "tokens": 0} for d in days.days]
            offsets = [edge - days.begin for edge in days.edges]

            def day(quarter: int) -> dict[str, Any]:
                return per_day[bisect.bisect_right(offsets, quarter * QUARTER) - 1]

            session_quarter = _quarter_of(chat_sessions.c.created_at, days, self._db.is_sqlite).label("q")
            for quarter, sessions in conn.execute(select(session_quarter, func.count())
                                                  .where(_in(chat_sessions.c.created_at, days))
                                                  .group_by(session_quarter)):
                day(quarter)["sessions"] += sessions

            message_quarter = _quarter_of(chat_messages.c.created_at, days, self._db.is_sqlite).label("q")
            token_sum = sum((chat_messages.c[f"tokens_{k}"] for k in ("input", "output", "reasoning")), literal(0))
            for quarter, messages, cost, tokens in conn.execute(
                    select(message_quarter, func.count(), func.coalesce(func.sum(chat_messages.c.cost), 0.0),
                           func.coalesce(func.sum(token_sum), 0))
                    .where(_in(chat_messages.c.created_at, days)).group_by(message_quarter)):
                bucket = day(quarter)
                bucket["messages"] += messages
                bucket["cost"] += float(cost)
                bucket["tokens"] += int(tokens)

            totals = conn.execute(select(*[func.coalesce(func.sum(chat_messages.c[f"tokens_{k}"]), 0) for k in _TOKENS],
                                         func.coalesce(func.sum(chat_messages.c.cost), 0.0),
                                         func.count().filter(chat_messages.c.role == "user"),
                                         func.count().filter(chat_messages.c.role == "assistant"))
                                  .where(_in(chat_messages.c.created_at, days))).one()
            tokens = {k: int(totals[i]) for i, k in enumerate(_TOKENS)}

            by_model = []
            model = func.coalesce(chat_messages.c.model, "unknown").label("model")
            token_sums = [func.coalesce(func.sum(chat_messages.c[f"tokens_{k}"]), 0) for k in _TOKENS]
            for row in conn.execute(select(model, func.count(), *token_sums,
                                           func.coalesce(func.sum(chat_messages.c.cost), 0.0))
                                    .where(_in(chat_messages.c.created_at, days), chat_messages.c.role == "assistant")
                                    .group_by(model).order_by(model)):
                by_model.append({"model": row[0], "messages": row[1],
                                 "tokens": {k: int(row[2 + i]) for i, k in enumerate(_TOKENS)},
                                 "cost": float(row[2 + len(_TOKENS)])})

            tools = self._tools(conn, days)
            ttft = self._first_token_seconds(conn, days)
            import statistics  # here, not at start-up (with fractions and decimal, ~5 ms of it)

            outcomes = self._outcomes(conn, days)

        calls = sum(t["calls"] for t in tools)
        failed = sum(t["failed"] for t in tools)
        finished = sum(t["completed"] + t["failed"] for t in tools)
        sessions = sum(d["sessions"] for d in per_day)
        return {
            "range": {"start": days.start.isoformat(), "end": days.end.isoformat(), "tz": days.zone,
                      "start_at": days.begin, "end_at": days.finish},
            "summary": {"sessions": sessions, "messages": int(totals[-2]) + int(totals[-1]),
                        "user_messages": int(totals[-2]), "assistant_messages": int(totals[-1]),
                        "tokens": tokens, "cost": float(totals[len(_TOKENS)]), "tool_calls": calls,
                        "tool_failures": failed, "tool_failure_rate": failed / finished if finished else 0.0,
                        "median_first_token_seconds": statistics.median(ttft) if ttft else None,
                        "first_token_samples": len(ttft)},
            "per_day": per_day,
            "tokens_by_model": by_model,
            "tools": tools,
            "outcomes": outcomes,
        }

    def _tools(self, conn: Any, days: LocalDays) -> list[dict[str, Any]]:
        # The tool's name and status live in the part's JSON (portable across databases: parsed here).
        stats: dict[str, dict[str, int]] = defaultdict(lambda: {"calls": 0, "completed": 0, "failed": 0})
        rows = conn.execute(select(chat_parts.c.data)
                            .select_from(chat_parts.join(chat_messages, chat_parts.c.message_id == chat_messages.c.id))
                            .where(chat_parts.c.kind == "tool", _in(chat_messages.c.created_at, days)))
        for (raw,) in rows:
            try:
                data = json.loads(raw or "{}")
            except ValueError:
                data = {}
            entry = stats[str(data.get("tool") or "unknown")]
            entry["calls"] += 1
            if data.get("status") == "completed":
                entry["completed"] += 1
            elif data.get("status") == "error":
                entry["failed"] += 1
        out = []
        for name in sorted(stats, key=lambda n: (-stats[n]["calls"], n)):
            entry = stats[name]
            done = entry["completed"] + entry["failed"]
            out.append({"tool": name, **entry, "failure_rate": entry["failed"] / done if done else 0.0})
        return out

    def _first_token_seconds(self, conn: Any, days: LocalDays) -> list[float]:
        later = chat_messages.alias("answer")
        first_answer = (select(func.min(later.c.created_at))
                        .where(later.c.session_id == chat_messages.c.session_id, later.c.role == "assistant",
                               later.c.created_at >= chat_messages.c.created_at)
                        .scalar_subquery())
        rows = conn.execute(select(chat_messages.c.created_at, first_answer)
                            .where(chat_messages.c.role == "user", _in(chat_messages.c.created_at, days)))
        return sorted(answer - asked for asked, answer in rows if answer is not None)

    def _outcomes(self, conn: Any, days: LocalDays) -> dict[str, int]:
        outcomes = {k: 0 for k in ("finished", "aborted", "errored", "running", "no reply", "archived", "deleted")}
        newest_first = (chat_messages.c.created_at.desc(), chat_messages.c.id.desc())
        last_reply = (select(chat_messages.c.session_id, chat_messages.c.finish, chat_messages.c.error,
                             chat_messages.c.completed_at,
                             func.row_number().over(partition_by=chat_messages.c.session_id,
                                                    order_by=newest_first).label("n"))
                      .where(chat_messages.c.role == "assistant").subquery())
        rows = conn.execute(select(chat_sessions.c.state, chat_sessions.c.status, chat_sessions.c.deleted_at,
                                   last_reply.c.finish, last_reply.c.error, last_reply.c.completed_at,
                                   last_reply.c.session_id)
                            .select_from(chat_sessions.outerjoin(last_reply,
                                                                 and_(last_reply.c.session_id == chat_sessions.c.id,
                                                                      last_reply.c.n == 1)))
                            .where(_in(chat_sessions.c.created_at, days)))
        for state, status, deleted_at, finish, error, completed_at, replied in rows:
            if deleted_at is not None:
                outcomes["deleted"] += 1
            elif state == "archived":
                outcomes["archived"] += 1
            elif replied is None:
                outcomes["no reply"] += 1
            elif error:
                name = (json.loads(error) or {}).get("name") if error.startswith("{") else None
                outcomes["aborted" if name == "aborted" else "errored"] += 1
            elif status in _BUSY or (completed_at is None and finish is None):
                outcomes["running"] += 1
            else:
                outcomes["finished"] += 1
        return outcomes
