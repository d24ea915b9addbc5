"""Full-text search over message text, on each store's own search engine: SQLite's FTS5 and
PostgreSQL's tsvector (never LIKE): ranked, every word required, highlighted snippets,
deleted and purged sessions handled, user input never read as query syntax."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from nexus.chat.repository import ChatRepository
from nexus.store import Database
from tests.postgres_server import on_postgres

DATABASES = ("sqlite", "postgres")


@pytest.fixture
def repo(database_url: str) -> Iterator[ChatRepository]:
    db = Database.open(database_url)
    yield ChatRepository(db)
    db.close()


def add_session(repo: ChatRepository, sid: str, *texts: str, kind: str = "text") -> None:
    now = time.time()
    repo.create_session({"id": sid, "engine": "opencode", "title": sid})
    messages = [{"id": f"{sid}-m{i}", "session_id": sid, "role": "assistant", "created_at": now + i,
                 "completed_at": now + i} for i in range(len(texts))]
    parts = [(0, {"id": f"{sid}-p{i}", "message_id": f"{sid}-m{i}", "session_id": sid, "kind": kind, "text": t,
                  "index": True}) for i, t in enumerate(texts)]
    repo.save({"id": sid}, 1, messages, parts)


def test_the_store_uses_its_own_full_text_search(repo: ChatRepository) -> None:
    assert repo.fts if repo._db.is_sqlite else repo.tsvector


def test_every_word_must_match_and_the_best_match_comes_first(repo: ChatRepository) -> None:
    add_session(repo, "once", "the deploy script failed on the staging server yesterday")
    add_session(repo, "often", "deploy deploy deploy: the deploy script failed again, deploy logs attached")
    add_session(repo, "other", "nothing about releases here, only the staging notes")
    hits = repo.search("deploy failed")
    assert [h["session_id"] for h in hits] == ["often", "once"]
    assert repo.search("deploy nonexistentword") == []
    assert [h["session_id"] for h in repo.search("STAGING")] in (["once", "other"], ["other", "once"])


def test_snippets_highlight_the_matches(repo: ChatRepository) -> None:
    words = " ".join(f"word{i}" for i in range(40))
    add_session(repo, "long", f"{words} the needle is here {words}")
    [hit] = repo.search("needle")
    assert "[needle]" in hit["snippet"]
    assert hit["snippet"].startswith("…") and hit["snippet"].endswith("…")
    assert len(hit["snippet"]) < 200
    assert hit["part_id"] == "long-p0" and hit["session"]["id"] == "long"


def test_query_syntax_in_user_input_is_only_words(repo: ChatRepository) -> None:
    add_session(repo, "s", "hello world, a plain greeting")
    for query in ('hello" OR "x', "hello AND NEAR(world", "hello*", "hello:* & !world | (", "'hello' --"):
        hits = repo.search(query)
        assert all(h["session_id"] == "s" for h in hits), query
    assert [h["session_id"] for h in repo.search("hello & world")] == ["s"]
    assert repo.search("!!! ()") == []


def test_case_and_accents_of_non_english_words(repo: ChatRepository) -> None:
    add_session(repo, "de", "Viele Grüße aus München")
    assert [h["session_id"] for h in repo.search("grüße münchen")] == ["de"]


def test_only_text_parts_are_found(repo: ChatRepository) -> None:
    add_session(repo, "think", "a secret plan in reasoning", kind="reasoning")
    assert repo.search("secret") == []


def test_deleted_sessions_are_found_only_when_asked_and_purged_ones_never(repo: ChatRepository) -> None:
    add_session(repo, "gone", "the elephant in the room")
    repo.update_session("gone", deleted_at=time.time())
    assert repo.search("elephant") == []
    assert [h["session_id"] for h in repo.search("elephant", deleted=True)] == ["gone"]
    repo.purge_session("gone")
    assert repo.search("elephant", deleted=True) == []


def test_an_edited_part_is_found_by_its_new_text_only(repo: ChatRepository) -> None:
    add_session(repo, "s", "first draft mentions apples")
    repo.save({"id": "s"}, 2, [], [(0, {"id": "s-p0", "message_id": "s-m0", "session_id": "s", "kind": "text",
                                        "text": "final text mentions pears", "index": True})])
    assert repo.search("apples") == []
    assert [h["session_id"] for h in repo.search("pears")] == ["s"]


def test_session_list_filter_uses_search(repo: ChatRepository) -> None:
    add_session(repo, "a", "talk about kubernetes")
    add_session(repo, "b", "talk about databases")
    sessions, total = repo.list_sessions(query="kubernetes")
    assert total == 1 and [s["id"] for s in sessions] == ["a"]


@on_postgres
def test_postgres_search_reads_the_gin_index_not_the_table(repo: ChatRepository) -> None:
    for i in range(50):
        add_session(repo, f"s{i}", f"message number {i} about topic{i % 7}")
    with repo._db.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(
            "EXPLAIN SELECT id FROM chat_parts WHERE search_vector @@ plainto_tsquery('simple', 'topic3')"))
    assert "ix_chat_parts_search_vector" in plan, plan
    assert {h["session_id"] for h in repo.search("topic3")} == {f"s{i}" for i in range(50) if i % 7 == 3}


def test_search_over_http(runtime, client) -> None:
    add_session(runtime.chat.repo, "web", "find me through the API")
    response = client.get("/api/search?q=through+API")
    assert response.status_code == 200, response.get_json()
    [hit] = response.get_json()["results"]
    assert hit["session_id"] == "web" and "[API]" in hit["snippet"]
