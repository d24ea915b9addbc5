"""A new, empty store made in one step: the tables straight from the metadata, the search
index each database keeps for itself, and the Alembic version stamped at head.

The same schema the migrations build (tests/test_store.py compares the two on SQLite and
PostgreSQL: tables, columns, types, defaults, indexes, constraints, the search DDL), without
importing Alembic and replaying every migration: that was ~0.3 s of a first start.
Migrations stay the way an existing store is brought up to date.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DefaultClause, MetaData, text
from sqlalchemy.engine import Connection

# What migrations 0003_chat (SQLite) and 0011_postgres_search (PostgreSQL) add outside the metadata.
SEARCH_DDL = {
    "sqlite": [
        ("CREATE VIRTUAL TABLE chat_search USING fts5(text, part_id UNINDEXED, session_id UNINDEXED, "
         "tokenize='unicode61 remove_diacritics 2')"),
    ],
    "postgresql": [
        ("ALTER TABLE chat_parts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
         "(CASE WHEN kind = 'text' THEN to_tsvector('simple'::regconfig, coalesce(text, '')) END) STORED"),
        "CREATE INDEX ix_chat_parts_search_vector ON chat_parts USING gin (search_vector)",
    ],
}


def create_fresh_store(conn: Connection, head: str) -> None:
    from nexus.store.schema import metadata

    _with_server_defaults(metadata).create_all(conn)
    for statement in SEARCH_DDL.get(conn.dialect.name, []):
        conn.exec_driver_sql(statement)
    # Alembic's own version table, as `alembic stamp` makes it.
    conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                         "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
    conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})


def _with_server_defaults(metadata: MetaData) -> MetaData:
    """A copy of the tables whose constant Python defaults are also database defaults, as the
    migrations declare them (server_default), so rows written by hand or by an older Nexus
    get the same values on a fresh store as on a migrated one."""
    copy = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    for table in copy.sorted_tables:
        for column in table.columns:
            default: Any = column.default
            if column.server_default is None and default is not None and default.is_scalar \
                    and not column.primary_key:
                value = default.arg
                column.server_default = DefaultClause(_literal(value))
    return copy


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # the migrations write "0", not "0.0"
    return str(value)
