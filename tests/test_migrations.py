"""The Alembic migrations build exactly the schema `nexus/store/schema.py` declares: a store
created by migrating from nothing has every table, column, type, nullability, index and
foreign key of the metadata, and nothing else (the full-text search tables aside)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nexus.store.database import Database, sqlite_url
from nexus.store.migrations import HEAD_REVISION
from nexus.store.schema import metadata


def search_index(name: str | None) -> bool:
    """The full-text index lives outside the metadata on purpose: on SQLite an FTS5 virtual
    table (`chat_search`) and its shadow tables, created by the migration that adds search."""
    return str(name or "").startswith("chat_search")


def include(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "table" and search_index(name))


def test_migrated_store_equals_the_declared_schema(tmp_path: Path) -> None:
    db = Database.open(sqlite_url(tmp_path / "nexus.db"))
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include})
            assert context.get_current_revision() == HEAD_REVISION
            diff = compare_metadata(context, metadata)
    finally:
        db.close()
    assert diff == [], "migrations and schema.py disagree:\n" + "\n".join(map(str, diff))
