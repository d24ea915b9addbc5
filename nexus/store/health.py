"""A read-only look at the configured database for `nexus doctor`: reachable, which server
and version, and whether its schema is this Nexus's. Nothing is created or migrated here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from nexus.store.database import (
    Database,
    StoreError,
    check_sqlite_file,
    normalize_url,
    postgres_problem,
    safe_url,
)
from nexus.store.migrations import HEAD_REVISION


@dataclass(frozen=True)
class StoreHealth:
    ok: bool
    detail: str
    fix: str = ""
    current: bool = False  # at this Nexus's schema: safe to open without migrating


def check_store(url: str) -> StoreHealth:
    url = normalize_url(url)
    where = safe_url(url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists() or path.stat().st_size == 0:
            return StoreHealth(True, f"SQLite file {path} does not exist yet; Nexus creates it at first start")
        try:
            check_sqlite_file(path)
        except StoreError as exc:
            return StoreHealth(False, str(exc), "Move the file aside (or restore a backup); Nexus starts a new one.")
    try:
        db = Database(url)
    except StoreError as exc:
        return StoreHealth(False, str(exc), _fix_for(str(exc)))
    try:
        return _inspect(db, where)
    except StoreError as exc:
        return StoreHealth(False, str(exc), _fix_for(str(exc)))
    except DBAPIError as exc:
        message = postgres_problem(url, exc) if db.is_postgres else f"{where} cannot be read ({exc.orig})"
        return StoreHealth(False, message, _fix_for(message))
    except SQLAlchemyError as exc:
        return StoreHealth(False, f"{where} cannot be read ({exc})", "Check NEXUS_DATABASE_URL.")
    finally:
        db.close()


def _inspect(db: Database, where: str) -> StoreHealth:
    db.check_server()
    version = db.server_version()
    with db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        revision = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                    if "alembic_version" in tables else None)
    if revision == HEAD_REVISION:
        return StoreHealth(True, f"{version}, {where}, schema {revision} (current)", current=True)
    if revision is None and not tables:
        return StoreHealth(True, f"{version}, {where}, empty: Nexus creates its tables at first start")
    if revision is None:
        listed = ", ".join(sorted(tables)[:5])
        return StoreHealth(False, f"{version}, {where} holds another application's tables ({listed}), "
                                  "not a Nexus database. Nothing was changed.",
                           "Point NEXUS_DATABASE_URL at an empty database of its own (e.g. `createdb nexus`).")
    if revision not in _known_revisions():
        return StoreHealth(False, f"{version}, {where} was written by a newer Nexus (schema {revision}). "
                                  "Nothing was changed.", "Update Nexus, or point it at another database.")
    return StoreHealth(True, f"{version}, {where}, schema {revision}: Nexus migrates it to {HEAD_REVISION} "
                             "at next start" + (" (after copying the file aside)" if db.is_sqlite else ""))


def _known_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from nexus.store.database import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}


def _fix_for(message: str) -> str:
    """Store errors end with what to do, after "Nothing was changed."."""
    _, sep, fix = message.partition("Nothing was changed. ")
    return fix if sep and fix else "Check NEXUS_DATABASE_URL (or unset it for the built-in SQLite file)."
