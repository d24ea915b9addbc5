import sqlite3
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from nexus.store import Database, StoreError
from nexus.store.database import MIGRATIONS_DIR, sqlite_url
from nexus.store.migrations import HEAD_REVISION
from nexus.store.repositories import RestartRepository
from nexus.store.schema import Base


def test_head_revision_constant_matches_alembic() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_migrates_an_empty_database_to_head_in_wal_mode(tmp_path: Path) -> None:
    db = Database.open(sqlite_url(tmp_path / "n.db"))
    try:
        assert db.current_revision() == HEAD_REVISION
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            tables = set(inspect(conn).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        db.close()


def test_migrations_produce_exactly_the_orm_schema(tmp_path: Path) -> None:
    db = Database.open(sqlite_url(tmp_path / "n.db"))
    try:
        with db.engine.connect() as conn:
            insp = inspect(conn)
            for table in Base.metadata.sorted_tables:
                migrated = {c["name"] for c in insp.get_columns(table.name)}
                assert migrated == {c.name for c in table.columns}, table.name
    finally:
        db.close()


def test_reopening_keeps_data(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "n.db")
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
