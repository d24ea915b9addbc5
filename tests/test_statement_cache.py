"""A session that grows does not grow the database connections' prepared statements (issue 13,
the chaos soak's RSS slope; nexus/store/one_of.py).

Loading a page of a session reads the parts of its newest messages by their ids. Written as
`IN (?, ?, ...)`, each count of messages was another SQL text, prepared and kept in each pooled
connection's statement cache (128 of them, each bigger with more placeholders): SQLite's memory
crept up with every reply. The list is now one parameter, so the texts, and SQLite's memory for
them, stay what they were after the first few replies."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from nexus.chat.repository import ChatRepository
from nexus.debug_memory import sqlite_connection_memory
from nexus.store import Database

DATABASES = ("sqlite", "postgres")
REPLIES = 150
FEW = 10


@pytest.fixture
def store(database_url: str) -> Iterator[tuple[ChatRepository, Database, list[str], list[Any]]]:
    """A repository, the SQL texts it runs, and the DB-API connections its pool opens."""
    db = Database.open(database_url)
    db.engine.dispose()  # the connections of the migration check are not watched: start afresh
    texts: list[str] = []
    opened: list[Any] = []
    event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, statement, *_: texts.append(statement))
    event.listen(db.engine, "connect", lambda dbapi_conn, _record: opened.append(dbapi_conn))
    try:
        yield ChatRepository(db), db, texts, opened
    finally:
        db.close()


def _reply(repo: ChatRepository, n: int) -> None:
    """Exchange n: a question and its answer (two parts), saved as the transcript writer does."""
    messages = [{"id": f"m{n:04d}q", "session_id": "s", "role": "user", "created_at": 10.0 * n},
                {"id": f"m{n:04d}a", "session_id": "s", "role": "assistant", "created_at": 10.0 * n + 1,
                 "completed_at": 10.0 * n + 2, "finish": "stop", "agent": "build", "model": f"fake/m{n}"}]
    parts = [(0, {"id": f"p{n:04d}q", "message_id": f"m{n:04d}q", "session_id": "s", "kind": "text",
                  "text": f"question {n}"}),
             (0, {"id": f"p{n:04d}r", "message_id": f"m{n:04d}a", "session_id": "s", "kind": "reasoning",
                  "text": "thinking"}),
             (1, {"id": f"p{n:04d}a", "message_id": f"m{n:04d}a", "session_id": "s", "kind": "text",
                  "text": f"answer {n}"})]
    repo.save(None, None, messages, parts)


def _statement_bytes(opened: list[Any]) -> int:
    sizes = [sqlite_connection_memory(conn) for conn in opened]
    return sum(size["statements"] for size in sizes if size is not None)


def test_loading_a_growing_session_runs_the_same_statements_and_reads_every_part(store) -> None:
    repo, _, texts, _ = store
    repo.create_session({"id": "s", "engine": "opencode", "title": "t"})
    seen_early: set[str] = set()
    for n in range(REPLIES):
        _reply(repo, n)
        texts.clear()
        everything, _ = repo.load_messages("s")  # what a reload from the store reads
        page, more = repo.load_messages("s", limit=50)  # a page, as the browser and the pollers ask
        older, _ = repo.load_messages("s", limit=50, before=page[0]["id"])
        if n < FEW:
            seen_early.update(texts)
        else:
            assert set(texts) <= seen_early, f"after {n + 1} replies, new SQL: {set(texts) - seen_early}"
    assert len(everything) == 2 * REPLIES
    assert [m["id"] for m in page] == [m["id"] for m in everything[-50:]] and more
    assert [m["id"] for m in older] == [m["id"] for m in everything[-100:-50]]
    for message in everything:  # every message came with exactly its own parts, in order
        n = int(message["id"][1:5])
        want = [f"question {n}"] if message["role"] == "user" else ["thinking", f"answer {n}"]
        assert [p["text"] for p in message["parts"]] == want, message["id"]


def test_deleting_searching_and_listing_by_many_ids_take_one_parameter(store) -> None:
    repo, _, texts, _ = store
    repo.create_session({"id": "s", "engine": "opencode", "title": "t"})
    for n in range(40):
        _reply(repo, n)
    texts.clear()
    repo.delete_messages([f"m{n:04d}{r}" for n in range(30) for r in "qa"])
    repo.delete_messages([f"m{n:04d}{r}" for n in range(30, 35) for r in "qa"])
    deleting = {t for t in texts if t.lstrip().upper().startswith("DELETE FROM CHAT_") and "search" not in t}
    assert len(deleting) == 2, deleting  # parts, then messages: the same two texts for 60 ids and for 10
    messages, _ = repo.load_messages("s")
    assert [m["id"] for m in messages] == [f"m{n:04d}{r}" for n in range(35, 40) for r in "qa"]
    assert all(m["parts"] for m in messages)
    assert [s["id"] for s in repo.list_sessions(query="answer")[0]] == ["s"]
    assert repo.list_sessions(query="nowhere")[0] == []
    assert repo.agents_and_models_used(["s", "unknown"]) == {"s": ("build", "fake/m39")}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_keeps_no_more_prepared_statements_after_many_replies_than_after_a_few(store) -> None:
    repo, _, _, opened = store
    repo.create_session({"id": "s", "engine": "opencode", "title": "t"})
    after_few = 0
    for n in range(REPLIES):
        _reply(repo, n)
        repo.load_messages("s", limit=500)
        if n == FEW - 1:
            after_few = _statement_bytes(opened)
    assert opened and all(isinstance(conn, sqlite3.Connection) for conn in opened)
    after_many = _statement_bytes(opened)
    # IN (?, ?, ...) kept up to 128 statements per connection, the newest with hundreds of
    # placeholders: 5.1 MB here (measured) instead of the ~150 kB the first replies prepared.
    assert after_few > 0 and after_many <= after_few + 16 * 1024, (after_few, after_many)
