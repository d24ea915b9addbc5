"""The chat transcript store behaves the same on SQLite and PostgreSQL where the two databases
differ: length limits and NUL characters (PostgreSQL refuses what SQLite takes), NULL order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nexus.chat.repository import ChatRepository
from nexus.store import Database

DATABASES = ("sqlite", "postgres")


@pytest.fixture
def repo(database_url: str) -> Iterator[ChatRepository]:
    db = Database.open(database_url)
    yield ChatRepository(db)
    db.close()


def test_what_an_engine_sends_is_stored_even_when_too_long_or_with_nul(repo: ChatRepository) -> None:
    repo.create_session({"id": "s", "engine": "opencode", "title": "t"})
    long_title = "A title typed in another OpenCode client " * 20
    repo.save({"id": "s", "title": long_title, "model": "m" * 500}, 4,
              [{"id": "m1", "session_id": "s", "role": "assistant", "created_at": 1.0, "finish": "f" * 100}],
              [(0, {"id": "p1", "message_id": "m1", "session_id": "s", "kind": "text", "index": True,
                    "text": "before\x00after"})])
    session = repo.get_session("s")
    assert session["title"] == long_title[:300] and session["model"] == "m" * 200 and session["last_seq"] == 4
    [message], _ = repo.load_messages("s")
    assert message["finish"] == "f" * 40
    assert message["parts"][0]["text"] == "beforeafter"
    repo.update_session("s", title="x" * 400)
    assert repo.get_session("s")["title"] == "x" * 300


def test_messages_without_a_time_come_first_on_both_databases(repo: ChatRepository) -> None:
    repo.create_session({"id": "s", "engine": "opencode", "title": "t"})
    repo.save(None, None, [{"id": "b", "session_id": "s", "role": "user", "created_at": 2.0},
                           {"id": "a", "session_id": "s", "role": "user", "created_at": None},
                           {"id": "c", "session_id": "s", "role": "assistant", "created_at": 3.0}], [])
    messages, more = repo.load_messages("s")
    assert [m["id"] for m in messages] == ["a", "b", "c"] and not more
    newest, more = repo.load_messages("s", limit=2)
    assert [m["id"] for m in newest] == ["b", "c"] and more
