"""Full-text search over many messages: SQLite (FTS5) and PostgreSQL (tsvector + GIN) in one run.

    .venv/bin/python bench/search.py                      # 100,000 messages; starts a throwaway PostgreSQL
    .venv/bin/python bench/search.py --messages 20000     # a short run
    .venv/bin/python bench/search.py --postgres-url postgresql://me@host/emptydb   # a server of your own

Fills a scratch SQLite store with N text messages (N/20 sessions of 20 messages, ~30 words each
from a fixed 5,000-word vocabulary with a Zipf-like spread, seeded: the same text every run),
builds the FTS5 rows the transcript writer keeps, then moves the whole store to PostgreSQL with
`nexus db import`'s copy (so the generated search column and GIN index are PostgreSQL's own)
and ANALYZEs it. Each query goes through ChatRepository.search (what /api/search runs): one
warm-up, then the median of --runs. The throwaway PostgreSQL is the tests' own (tests/postgres_server.py:
Debian's initdb/pg_ctl on a loopback port, fsync off), stopped at the end.
Prints a table and JSON (sqlite ms, postgres ms, postgres / sqlite, hits per query).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text

from nexus.chat.repository import ChatRepository
from nexus.store.database import Database, sqlite_url
from nexus.store.schema import chat_messages, chat_parts, chat_sessions
from nexus.store.transfer import copy_store

PER_SESSION = 20
WORDS_PER_MESSAGE = 30
VOCABULARY = 5000


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(words)


def fill(db: Database, messages: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]  # Zipf: a few words everywhere, most rare
    now = time.time()
    sessions = messages // PER_SESSION
    with db.engine.begin() as conn:
        for s in range(sessions):
            sid = f"s{s:06d}"
            at = now - (sessions - s) * 60
            conn.execute(insert(chat_sessions), [{
                "id": sid, "engine": "opencode", "title": f"session {s}", "state": "active", "status": "idle",
                "created_at": at, "updated_at": at, "last_seq": 0, "cost": 0.0}])
            rows_m, rows_p = [], []
            for m in range(PER_SESSION):
                mid = f"{sid}-{m:02d}"
                rows_m.append({"id": mid, "session_id": sid, "role": "user" if m % 2 == 0 else "assistant",
                               "created_at": at + m, "completed_at": at + m, "cost": 0.0})
                body = " ".join(rng.choices(words, weights, k=WORDS_PER_MESSAGE))
                rows_p.append({"id": f"{mid}-p", "message_id": mid, "session_id": sid, "position": 0,
                               "kind": "text", "text": body, "data": "{}", "updated_at": at + m})
            conn.execute(insert(chat_messages), rows_m)
            conn.execute(insert(chat_parts), rows_p)
        conn.execute(text("INSERT INTO chat_search (text, part_id, session_id) "
                          "SELECT text, id, session_id FROM chat_parts WHERE kind = 'text'"))
    return words


def time_search(repo: ChatRepository, query: str, runs: int) -> tuple[float, int]:
    hits = len(repo.search(query))  # warm-up (caches, plans)
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        repo.search(query)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000, hits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres-url", help="an EMPTY PostgreSQL database to use instead of a throwaway server")
    args = parser.parse_args()

    server = None
    with tempfile.TemporaryDirectory(prefix="nexus-bench-search-") as scratch:
        lite = Database.open(sqlite_url(Path(scratch) / "search.db"))
        try:
            began = time.perf_counter()
            words = fill(lite, args.messages)
            filled = time.perf_counter() - began
            if args.postgres_url:
                pg_url = args.postgres_url
            else:
                from tests.postgres_server import PostgresServer

                server = PostgresServer().start()
                pg_url = server.url(server.create_database())
            pg = Database.open(pg_url)
            try:
                began = time.perf_counter()
                copy_store(lite, pg)
                copied = time.perf_counter() - began
                with pg.engine.connect() as conn:
                    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
                queries = {
                    "common word": words[0],
                    "mid word": words[40],
                    "rare word": words[3000],
                    "two words": f"{words[1]} {words[60]}",
                    "no match": "zzzzqqqq",
                }
                results = {}
                for label, query in queries.items():
                    lite_ms, lite_hits = time_search(ChatRepository(lite), query, args.runs)
                    pg_ms, pg_hits = time_search(ChatRepository(pg), query, args.runs)
                    results[label] = {"query": query, "sqlite_ms": round(lite_ms, 2), "postgres_ms": round(pg_ms, 2),
                                      "ratio": round(pg_ms / lite_ms, 2) if lite_ms else None,
                                      "sqlite_sessions": lite_hits, "postgres_sessions": pg_hits}
                version = pg.server_version()
            finally:
                pg.close()
        finally:
            lite.close()
            if server is not None:
                server.stop()

    print(f"{args.messages:,} messages in {args.messages // PER_SESSION:,} sessions "
          f"(fill {filled:.1f} s, copy to PostgreSQL {copied:.1f} s); {version}; median of {args.runs}")
    print(f"{'query':<12} {'sqlite ms':>10} {'postgres ms':>12} {'pg/sqlite':>10} {'sessions':>9}")
    for label, r in results.items():
        print(f"{label:<12} {r['sqlite_ms']:>10.2f} {r['postgres_ms']:>12.2f} {r['ratio'] or 0:>10.2f} "
              f"{r['sqlite_sessions']:>5}/{r['postgres_sessions']}")
    print(json.dumps({"messages": args.messages, "postgres": version, "queries": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
