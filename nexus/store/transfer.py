"""Moving a whole store between databases (SQLite <-> PostgreSQL) for `nexus db export/import`.

Both sides are opened (and so migrated) to this Nexus's schema first; every table's rows are
then copied in foreign-key order in ONE transaction on the target, and the row counts of
both sides are compared before it commits: a copy is complete or nothing changed. Search
indexes are the databases' own and are rebuilt, not copied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Integer, delete, func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from nexus.store.database import Database, StoreError, safe_url
from nexus.store.schema import metadata

log = logging.getLogger(__name__)

BATCH = 1000


def row_counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar() or 0
                for t in metadata.sorted_tables}


def copy_store(source: Database, target: Database, *, replace: bool = False,
               progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every row of `source` into `target`; returns the rows per table. A target that
    holds any rows is refused unless `replace`, which empties it first (in the same transaction)."""
    tables = metadata.sorted_tables
    existing = {name: n for name, n in row_counts(target).items() if n}
    if existing and not replace:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(existing.items())[:6])
        raise StoreError(f"The target store {safe_url(target.url)} is not empty: {listed}. Nothing was changed. "
                         "Import into an empty database, or pass --replace to overwrite what it holds.")
    copied: dict[str, int] = {}
    try:
        with source.engine.connect() as read, target.engine.begin() as write:
            if replace:
                for table in reversed(tables):
                    write.execute(delete(table))
                _clear_search(target, write)
            for table in tables:
                count = 0
                result = read.execution_options(stream_results=True).execute(select(table))
                for rows in result.partitions(BATCH):
                    write.execute(insert(table), [dict(row._mapping) for row in rows])
                    count += len(rows)
                copied[table.name] = count
                if progress:
                    progress(table.name, count)
            _after_copy(target, write)
            landed = {t.name: write.execute(select(func.count()).select_from(t)).scalar() or 0 for t in tables}
            if landed != copied:
                differ = {k: (copied[k], landed[k]) for k in copied if copied[k] != landed[k]}
                raise StoreError(f"Row counts differ after copying ({differ}); nothing was changed.")
    except DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"Copying into {safe_url(target.url)} failed: {detail}. Nothing was changed.") from exc
    after = row_counts(source)
    if after != copied:
        log.warning("the source changed while it was copied: %s then %s", copied, after)
    return copied


def _clear_search(db: Database, conn: Connection) -> None:
    if db.is_sqlite and _has_sqlite_search(conn):
        conn.execute(text("DELETE FROM chat_search"))


def _after_copy(db: Database, conn: Connection) -> None:
    """What the target keeps for itself: SQLite's FTS5 rows, PostgreSQL's id sequences (rows
    arrived with their ids, so each sequence must continue after the highest)."""
    if db.is_sqlite and _has_sqlite_search(conn):
        conn.execute(text("INSERT INTO chat_search (text, part_id, session_id) SELECT text, id, session_id "
                          "FROM chat_parts WHERE kind = 'text' AND text IS NOT NULL AND text != ''"))
    if db.is_postgres:
        for table in metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement in (True, "auto"):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                    f"coalesce(max({pk[0].name}), 1), max({pk[0].name}) IS NOT NULL) FROM {table.name}"))


def _has_sqlite_search(conn: Connection) -> bool:
    return bool(conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'chat_search'")).scalar())
