import sqlite3
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from nexus.server.repository import RestartRepository
from nexus.store import Database, StoreError
from nexus.store.database import MIGRATIONS_DIR, SQLITE_CACHE_KIB, sqlite_url
from nexus.store.migrations import HEAD_REVISION
from nexus.store.schema import metadata
from tests.postgres_server import on_postgres

DATABASES = ("sqlite", "postgres")


def test_head_revision_constant_matches_alembic() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrates_an_empty_database_to_head(database_url: str) -> None:
    db = Database.open(database_url)
    try:
        assert db.current_revision() == HEAD_REVISION
        with db.engine.connect() as conn:
            if db.is_sqlite:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                # A bounded page cache per pooled connection (RSS, issue 13).
                assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_CACHE_KIB
            tables = set(inspect(conn).get_table_names())
        assert set(metadata.tables) <= tables
    finally:
        db.close()


# Columns the database keeps for itself, outside the ORM: PostgreSQL's search vector (0011).
DATABASE_OWN_COLUMNS = {"postgresql": {("chat_parts", "search_vector")}, "sqlite": set()}


def test_migrations_produce_exactly_the_declared_schema(database_url: str) -> None:
    db = Database.open(database_url)
    try:
        own = DATABASE_OWN_COLUMNS[db.dialect]
        with db.engine.connect() as conn:
            insp = inspect(conn)
            for table in metadata.sorted_tables:
                migrated = {c["name"]: c for c in insp.get_columns(table.name)}
                assert set(migrated) - {c for t, c in own if t == table.name} == {c.name for c in table.columns}, \
                    table.name
                for column in table.columns:
                    assert migrated[column.name]["nullable"] == column.nullable, (table.name, column.name)
                    assert migrated[column.name]["type"]._type_affinity is column.type._type_affinity, \
                        (table.name, column.name, migrated[column.name]["type"], column.type)
    finally:
        db.close()


def test_reopening_keeps_data(database_url: str) -> None:
    url = database_url
    db = Database.open(url)
    RestartRepository(db).add(reason="crashed", exit_code=137)
    db.close()
    db = Database.open(url)
    try:
        [entry] = RestartRepository(db).recent()
        assert (entry.reason, entry.exit_code) == ("crashed", 137)
    finally:
        db.close()


def test_corrupt_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    garbage = b"this is not a database\x00" * 500
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="damaged or is not a database"):
        Database.open(sqlite_url(path))
    assert path.read_bytes() == garbage
    assert not (tmp_path / "n.db-wal").exists()


def test_database_from_a_newer_nexus_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    db = Database.open(sqlite_url(path))
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer Nexus"):
        Database.open(sqlite_url(path))
    assert path.read_bytes() == before


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a Nexus database"):
        Database.open(sqlite_url(path))
    conn = sqlite3.connect(path)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["invoices"]
    conn.close()


# ----- PostgreSQL: refusals that change nothing ----------------------------------------------

def _pg_rows(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(sql).fetchall()


@on_postgres
def test_postgres_database_from_a_newer_nexus_is_refused_and_left_alone(database_url: str) -> None:
    db = Database.open(database_url)
    RestartRepository(db).add(reason="crashed", exit_code=1)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    db.close()
    with pytest.raises(StoreError, match="newer Nexus"):
        Database.open(database_url)
    assert _pg_rows(database_url, "SELECT version_num FROM alembic_version") == [("9999_from_the_future",)]
    assert _pg_rows(database_url, "SELECT reason FROM server_restarts") == [("crashed",)]


@on_postgres
def test_postgres_database_of_another_application_is_refused_and_left_alone(database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE invoices (id integer PRIMARY KEY)")
        conn.execute("INSERT INTO invoices VALUES (7)")
    with pytest.raises(StoreError, match="not a Nexus database"):
        Database.open(database_url)
    tables = _pg_rows(database_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables == [("invoices",)]
    assert _pg_rows(database_url, "SELECT id FROM invoices") == [(7,)]


@pytest.mark.postgres
def test_postgres_connection_problems_say_how_to_fix_them(postgres_server) -> None:
    from tests.postgres_server import _free_port

    refused = f"postgresql://nexus:secret-pw@127.0.0.1:{_free_port()}/nexus"
    with pytest.raises(StoreError, match="Start the PostgreSQL server") as caught:
        Database.open(refused)
    assert "secret-pw" not in str(caught.value)
    with pytest.raises(StoreError, match="createdb"):
        Database.open(postgres_server.url("no_such_database"))
    with pytest.raises(StoreError, match="not a database URL"):
        Database.open("postgresql://user@host:notaport/db")
    with pytest.raises(StoreError, match="SQLite or PostgreSQL"):
        Database.open("mysql://user@127.0.0.1/db")


@pytest.mark.postgres
def test_postgres_urls_use_psycopg_3(postgres_server) -> None:
    name = postgres_server.create_database()
    try:
        db = Database.open(postgres_server.url(name).replace("postgresql://", "postgres://"))
        try:
            assert db.engine.dialect.driver == "psycopg"
            assert db.server_version().startswith("PostgreSQL 1")
        finally:
            db.close()
    finally:
        postgres_server.drop_database(name)


def test_metrics_are_kept_and_pruned_by_age(database_url: str) -> None:
    from nexus.server.repository import MetricsRepository

    db = Database.open(database_url)
    try:
        metrics = MetricsRepository(db)
        for at in (100.0, 200.0, 300.0):
            metrics.add({"at": at, "resolution": 10.0, "cpu_percent": 1.5, "rss_bytes": 5 * 2**32, "threads": 3,
                         "requests": 7, "errors": 0, "restarts": 0})
        assert metrics.prune(older_than=250.0) == 2
        [kept] = metrics.since(0)
        assert (kept["at"], kept["rss_bytes"], kept["cpu_percent"]) == (300.0, 5 * 2**32, 1.5)
    finally:
        db.close()


# ----- a new store is made from the metadata: it must equal the migrated one -------------------

def _schema(db: Database) -> dict:
    """Everything about a database's schema that Nexus relies on, in comparable form."""
    with db.engine.connect() as conn:
        insp = inspect(conn)
        out: dict = {}
        for name in sorted(insp.get_table_names()):
            columns = {c["name"]: (str(c["type"]), c["nullable"], str(c.get("default")),
                                   str((c.get("computed") or {}).get("sqltext"))) for c in insp.get_columns(name)}
            out[name] = {
                "columns": columns,
                "pk": sorted(insp.get_pk_constraint(name)["constrained_columns"]),
                "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]),
                               str(f.get("options", {}).get("ondelete"))) for f in insp.get_foreign_keys(name)),
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                  for i in insp.get_indexes(name)),
                "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(name)),
            }
        if db.is_sqlite:
            out["sqlite_master"] = sorted(conn.exec_driver_sql(
                "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'chat_search%' ORDER BY name").all())
        else:
            out["pg_indexes"] = sorted(conn.exec_driver_sql(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()").all())
    return out


def _second_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if database_url.startswith("sqlite"):
        (tmp_path / "migrated").mkdir()
        return sqlite_url(tmp_path / "migrated" / "nexus.db")
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    request.addfinalizer(lambda: server.drop_database(name))
    return server.url(name)


def test_a_new_store_has_exactly_the_schema_the_migrations_build(database_url: str, tmp_path: Path,
                                                                request: pytest.FixtureRequest) -> None:
    from alembic import command

    fresh = Database.open(database_url)  # empty: made from the metadata, no Alembic
    migrated = Database(_second_url(database_url, tmp_path, request))
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with migrated.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        assert fresh.current_revision() == migrated.current_revision() == HEAD_REVISION
        made, replayed = _schema(fresh), _schema(migrated)
        assert made.keys() == replayed.keys()
        for key in made:
            assert made[key] == replayed[key], key
    finally:
        fresh.close()
        migrated.close()


def test_a_new_store_is_made_without_importing_alembic(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from nexus.store import Database; from nexus.store.database import sqlite_url; "
            f"db = Database.open(sqlite_url({str(tmp_path / 'n.db')!r})); "
            "print(db.current_revision(), 'alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == [HEAD_REVISION, "False"]


def test_an_older_store_is_migrated_by_alembic_keeping_its_data(database_url: str, tmp_path: Path) -> None:
    from alembic import command

    from nexus.chat.repository import ChatRepository

    old = Database(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with old.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005_agents")
    with old.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO chat_sessions (id, engine, created_at, updated_at) VALUES ('s', 'opencode', 1, 1)")
        conn.exec_driver_sql("INSERT INTO chat_messages (id, session_id, role) VALUES ('m', 's', 'user')")
        conn.exec_driver_sql("INSERT INTO chat_parts (id, message_id, session_id, kind, text, updated_at) "
                             "VALUES ('p', 'm', 's', 'text', 'an old walrus', 1)")
    old.close()

    db = Database.open(database_url)
    try:
        assert db.current_revision() == HEAD_REVISION
        if db.is_sqlite:
            assert list(tmp_path.glob("data/nexus.db.before-*-from-0005_agents.bak"))
        else:  # the search column is computed for rows that were there before 0011
            assert [h["session_id"] for h in ChatRepository(db).search("walrus")] == ["s"]
        assert ChatRepository(db).get_session("s")["title"] == ""
    finally:
        db.close()
