"""How long one analytics report takes on a big store.

    .venv/bin/python bench/analytics.py [--sessions N]   # default 2,000 sessions (~20,000 messages)

Fills a scratch SQLite store through ChatRepository (as the transcript writer does): N sessions
spread over 90 days, each with 5 user and 5 assistant messages (usage, cost, one of 3 models)
and 5 tool parts. Then times ChatAnalytics.report for 90 and 7 days in Europe/Berlin (median of 5).
Prints JSON; writes nothing else.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from nexus.analytics import ChatAnalytics, LocalDays
from nexus.chat.repository import ChatRepository
from nexus.store.database import Database, sqlite_url

DAY = 86400


def fill(repo: ChatRepository, sessions: int, end: float) -> None:
    for i in range(sessions):
        sid = f"b{i:06d}"
        at = end - (i % 90) * DAY - 3600 - i
        repo.create_session({"id": sid, "engine": "opencode", "engine_ref": sid, "title": sid,
                             "model": f"m{i % 3}", "created_at": at, "updated_at": at})
        messages, parts = [], []
        for j in range(10):
            mid = f"{sid}-{j}"
            role = "user" if j % 2 == 0 else "assistant"
            messages.append({"id": mid, "session_id": sid, "role": role, "created_at": at + j * 10,
                             "model": f"m{i % 3}" if role == "assistant" else None, "finish": "stop",
                             "completed_at": at + j * 10 + 5, "cost": 0.001 if role == "assistant" else 0.0,
                             "tokens": {"input": 100, "output": 50} if role == "assistant" else None})
            if role == "assistant":
                parts.append((0, {"id": f"{mid}-t", "message_id": mid, "session_id": sid, "kind": "tool",
                                  "tool": ("bash", "read", "edit")[j % 3], "status": "error" if j == 9 else "completed"}))
        repo.save(None, None, messages, parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        db = Database.open(sqlite_url(Path(scratch) / "bench.db"))
        try:
            end_day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + DAY))
            fill(ChatRepository(db), args.sessions, time.time())
            analytics = ChatAnalytics(db)
            out = {"sessions": args.sessions, "messages": args.sessions * 10, "tool_parts": args.sessions * 5}
            for days in (90, 7):
                start = time.strftime("%Y-%m-%d", time.gmtime(time.time() - (days - 1) * DAY))
                local = LocalDays.parse(start, end_day, "Europe/Berlin")
                runs = []
                for _ in range(5):
                    began = time.perf_counter()
                    report = analytics.report(local)
                    runs.append(time.perf_counter() - began)
                out[f"report_{days}d_ms"] = round(statistics.median(runs) * 1000, 1)
                out[f"report_{days}d_sessions"] = report["summary"]["sessions"]
        finally:
            db.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
