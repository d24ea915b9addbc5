"""`nexus doctor` on the configured database and `nexus db export/import`, as a person runs
them: the real command in a child process against a real PostgreSQL server and SQLite files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from nexus.chat.repository import ChatRepository
from nexus.server.repository import RestartRepository
from nexus.settings_repository import SettingsRepository
from nexus.store import Database
from nexus.store.database import sqlite_url
from nexus.store.transfer import row_counts
from tests.analytics_data import insert_known_usage
from tests.postgres_server import _free_port, on_postgres

NEXUS = [sys.executable, "-m", "nexus"]


def nexus(home: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEXUS_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("NEXUS_DATABASE_URL", None)
    if url:
        env["NEXUS_DATABASE_URL"] = url
    return subprocess.run([*NEXUS, *args], check=False, env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def store_check(home: Path, url: str | None) -> tuple[dict, int, str]:
    res = nexus(home, "doctor", "--json", url=url)
    checks = {c["name"]: c for c in json.loads(res.stdout)}
    return checks["Store"], res.returncode, res.stdout + res.stderr


def pg(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


# ----- doctor ------------------------------------------------------------------------------------

@on_postgres
def test_doctor_on_a_migrated_postgres_store(tmp_path: Path, database_url: str) -> None:
    Database.open(database_url).close()
    check, _, _ = store_check(tmp_path, database_url)
    assert check["ok"], check
    assert check["detail"].startswith("PostgreSQL 15") and "(current)" in check["detail"]


@on_postgres
def test_doctor_on_an_empty_postgres_database_creates_nothing(tmp_path: Path, database_url: str) -> None:
    check, _, _ = store_check(tmp_path, database_url)
    assert check["ok"] and "creates its tables at first start" in check["detail"], check
    assert pg(database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []


@on_postgres
def test_doctor_refuses_another_applications_database_and_a_newer_nexus(tmp_path: Path, database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE invoices (id integer PRIMARY KEY)")
    check, code, _ = store_check(tmp_path, database_url)
    assert not check["ok"] and code == 1
    assert "another application's tables (invoices)" in check["detail"] and "createdb" in check["fix"]
    assert pg(database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == [("invoices",)]

    with psycopg.connect(database_url) as conn:
        conn.execute("DROP TABLE invoices")
    Database.open(database_url).close()
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    check, code, _ = store_check(tmp_path, database_url)
    assert not check["ok"] and code == 1 and "newer Nexus" in check["detail"] and "Update Nexus" in check["fix"]
    assert pg(database_url, "SELECT version_num FROM alembic_version") == [("9999_future",)]


@pytest.mark.postgres
def test_doctor_says_how_to_fix_an_unreachable_or_wrong_database(tmp_path: Path, postgres_server) -> None:
    refused = f"postgresql://nexus:hunter2-secret@127.0.0.1:{_free_port()}/nexus"
    check, code, out = store_check(tmp_path, refused)
    assert not check["ok"] and code == 1 and "Start the PostgreSQL server" in check["fix"]
    assert "hunter2-secret" not in out

    check, _, _ = store_check(tmp_path, postgres_server.url("missing_db"))
    assert not check["ok"] and "createdb" in check["fix"]

    check, _, _ = store_check(tmp_path, "postgresql://x@127.0.0.1:port/db")
    assert not check["ok"] and "not a database URL" in check["detail"]


# ----- export / import ---------------------------------------------------------------------------

def filled_sqlite_store(path: Path) -> Database:
    db = Database.open(sqlite_url(path))
    repo = ChatRepository(db)
    insert_known_usage(repo)
    repo.create_session({"id": "findme", "engine": "opencode", "title": "Grüße"})
    repo.save({"id": "findme"}, 3, [{"id": "fm1", "session_id": "findme", "role": "user", "created_at": 5.0}],
              [(0, {"id": "fp1", "message_id": "fm1", "session_id": "findme", "kind": "text", "index": True,
                    "text": "the zeppelin lands at noon"})])
    restarts = RestartRepository(db)
    for n in range(3):
        restarts.add(reason="crashed", exit_code=n)
    SettingsRepository(db).save({"ui.theme": "dark", "metrics.retention_days": 7})
    return db


def table_rows(db: Database, table: str, order: str) -> list[tuple]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {order}")]


@on_postgres
def test_a_store_moves_sqlite_to_postgres_and_back_intact(tmp_path: Path, database_url: str) -> None:
    original = filled_sqlite_store(tmp_path / "original.db")
    counts = row_counts(original)
    assert counts["chat_parts"] > 5 and counts["server_restarts"] == 3

    res = nexus(tmp_path / "home", "db", "import", str(tmp_path / "original.db"), url=database_url)
    assert res.returncode == 0, res.stderr
    assert "counts match" in res.stdout and f"chat_parts{' ' * 9}{counts['chat_parts']}" in res.stdout

    on_pg = Database.open(database_url)
    try:
        assert row_counts(on_pg) == counts
        repo = ChatRepository(on_pg)
        [hit] = repo.search("zeppelin")
        assert hit["session_id"] == "findme" and "[zeppelin]" in hit["snippet"]
        # Ids arrived with the rows: the next new row must not collide with them.
        assert RestartRepository(on_pg).add(reason="manual") == 4
    finally:
        on_pg.close()

    back = tmp_path / "back.db"
    res = nexus(tmp_path / "home", "db", "export", str(back), url=database_url)
    assert res.returncode == 0, res.stderr
    returned = Database.open(sqlite_url(back))
    try:
        assert row_counts(returned) == {**counts, "server_restarts": 4}
        for table, order in (("chat_parts", "id"), ("chat_messages", "id"), ("chat_sessions", "id"),
                             ("settings", "key")):
            assert table_rows(returned, table, order) == table_rows(original, table, order), table
        assert [h["session_id"] for h in ChatRepository(returned).search("zeppelin")] == ["findme"]
    finally:
        returned.close()
        original.close()


@on_postgres
def test_import_into_a_store_with_data_is_refused_unless_replace(tmp_path: Path, database_url: str) -> None:
    filled_sqlite_store(tmp_path / "a.db").close()
    source = str(tmp_path / "a.db")
    assert nexus(tmp_path, "db", "import", source, url=database_url).returncode == 0
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE settings SET value = '\"light\"' WHERE key = 'ui.theme'")

    res = nexus(tmp_path, "db", "import", source, url=database_url)
    assert res.returncode == 2 and "is not empty" in res.stderr and "--replace" in res.stderr
    assert pg(database_url, "SELECT value FROM settings WHERE key = 'ui.theme'") == [('"light"',)]

    res = nexus(tmp_path, "db", "import", source, "--replace", url=database_url)
    assert res.returncode == 0, res.stderr
    assert pg(database_url, "SELECT value FROM settings WHERE key = 'ui.theme'") == [('"dark"',)]
    assert pg(database_url, "SELECT count(*) FROM server_restarts") == [(3,)]


def test_export_never_overwrites_a_file(tmp_path: Path) -> None:
    filled_sqlite_store(tmp_path / "home" / "nexus.db").close()
    existing = tmp_path / "keep.db"
    existing.write_bytes(b"precious")
    res = nexus(tmp_path / "home", "db", "export", str(existing))
    assert res.returncode == 2 and "already exists" in res.stderr
    assert existing.read_bytes() == b"precious"
    res = nexus(tmp_path / "home", "db", "import", str(tmp_path / "missing.db"))
    assert res.returncode == 2 and "does not exist" in res.stderr
