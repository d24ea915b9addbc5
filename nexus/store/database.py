"""Opening the database safely: SQLite (the default) or PostgreSQL 15+.

Start-up refuses, with a message a person can act on, a database that is corrupt, that
is not a Nexus database, or that a newer Nexus migrated; it never overwrites one. An
older SQLite file is copied aside before it is migrated. A PostgreSQL server that cannot
be reached, refuses the login or is too old is refused the same way.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    InterfaceError,
    OperationalError,
)

from nexus.store.migrations import HEAD_REVISION

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


MIN_POSTGRES = 15
POSTGRES_EXTRA = "pip install 'nexus-desktop[postgres]'"
# Migrations of one database by two Nexus processes at once wait for each other.
_MIGRATION_LOCK = 0x4E455855  # "NEXU"


class StoreError(RuntimeError):
    """The store cannot be used; the message says why and what to do."""


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 (SQLAlchemy alone would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url.split("@")[-1] if "@" in url else url


class Database:
    def __init__(self, url: str) -> None:
        url = normalize_url(url)
        self.url = url
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise StoreError(f"NEXUS_DATABASE_URL is not a database URL ({safe_url(url)!r}). Use "
                             "postgresql://USER:PASSWORD@HOST:5432/DATABASE, or unset it for the "
                             "built-in SQLite file.") from None
        self.dialect = parsed.get_backend_name()
        self.is_sqlite = self.dialect == "sqlite"
        self.is_postgres = self.dialect == "postgresql"
        if not (self.is_sqlite or self.is_postgres):
            raise StoreError(f"Nexus runs on SQLite or PostgreSQL, not {self.dialect} ({safe_url(url)}).")
        if self.is_sqlite:
            connect_args: dict[str, object] = {"check_same_thread": False, "timeout": 30}
        else:
            connect_args = {"connect_timeout": 10, "application_name": "nexus"}
        try:
            self.engine: Engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not self.is_sqlite)
        except ModuleNotFoundError as exc:
            raise StoreError(f"The PostgreSQL driver is not installed ({exc.name}): {POSTGRES_EXTRA}, "
                             "then start Nexus again.") from None
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @classmethod
    def open(cls, url: str) -> Database:
        """Connect, check and migrate. Raises StoreError without touching a bad file."""
        url = normalize_url(url)
        if url.startswith("sqlite:///"):
            check_sqlite_file(Path(url.removeprefix("sqlite:///")))
        db = cls(url)
        try:
            db.check_server()
            db.migrate()
        except StoreError:
            db.close()
            raise
        except (DatabaseError, OperationalError, InterfaceError) as exc:
            db.close()
            from nexus.store.space import storage_problem

            problem = storage_problem(exc)
            if problem is not None:
                raise StoreError(f"{problem.message} (database {url})") from exc
            if db.is_postgres:
                raise StoreError(postgres_problem(url, exc)) from exc
            raise StoreError(f"The database at {url} cannot be read ({exc.orig}). "
                             "Nothing was changed. Move the file aside to start afresh.") from exc
        return db

    def server_version(self) -> str:
        """The database software and its version, e.g. "PostgreSQL 15.18" or "SQLite 3.40.1"."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                return f"SQLite {conn.exec_driver_sql('SELECT sqlite_version()').scalar()}"
            info = conn.dialect.server_version_info or ()
            return "PostgreSQL " + ".".join(str(p) for p in info)

    def check_server(self) -> None:
        """A PostgreSQL server must be reachable and new enough (websearch, generated columns)."""
        if not self.is_postgres:
            return
        with self.engine.connect() as conn:
            major = int((conn.dialect.server_version_info or (0,))[0])
        if major < MIN_POSTGRES:
            raise StoreError(f"The PostgreSQL server at {safe_url(self.url)} is version {major}; Nexus needs "
                             f"{MIN_POSTGRES} or newer. Nothing was changed. Upgrade the server or use another one.")

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def migrate(self) -> None:
        current = self.current_revision()
        if current == HEAD_REVISION:
            return
        if current is None:
            self._check_empty()
            log.debug("creating a new store at %s", HEAD_REVISION)  # a first start: no chatter for a newcomer
            with self.engine.begin() as conn:
                if self._wait_for_other_migration(conn):
                    return
                # A new store needs no Alembic at all (its import alone is ~0.3 s of a first start).
                from nexus.store.fresh import create_fresh_store

                create_fresh_store(conn, HEAD_REVISION)
            return
        from alembic import command
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
        if current not in known:
            raise StoreError(
                f"The database at {safe_url(self.url)} was written by a newer Nexus (schema {current}). "
                "Nothing was changed. Update Nexus, or use another data dir."
            )
        self._backup_before_migration(current)
        log.info("migrating store from %s to %s", current, HEAD_REVISION)
        with self.engine.begin() as conn:
            if self._wait_for_other_migration(conn):
                return
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def _check_empty(self) -> None:
        with self.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        if tables:
            raise StoreError(
                f"The database at {safe_url(self.url)} has tables ({', '.join(sorted(tables)[:5])}) but is not "
                "a Nexus database. Nothing was changed. Point Nexus at another data dir."
            )

    def _wait_for_other_migration(self, conn: Connection) -> bool:
        """PostgreSQL: another Nexus may be creating or migrating the same database. Wait for it
        (an advisory lock held until this transaction ends); True when it already reached head."""
        if not self.is_postgres:
            return False
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        if not inspect(conn).has_table("alembic_version"):
            return False
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION

    def _backup_before_migration(self, revision: str) -> None:
        if not self.url.startswith("sqlite:///"):
            return  # server databases have their own backups
        path = Path(self.url.removeprefix("sqlite:///"))
        backup = path.with_name(f"{path.name}.before-{HEAD_REVISION}-from-{revision}.bak")
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
        shutil.copy2(path, backup)
        log.info("copied the database to %s before migrating", backup.name)

    def close(self) -> None:
        self.engine.dispose()


def inserted_id(result: CursorResult[Any]) -> int:
    """The integer key an INSERT of one row gave it (SQLite's lastrowid, PostgreSQL's RETURNING)."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("not an INSERT of one row")
    return int(key[0])


def postgres_problem(url: str, exc: Exception) -> str:
    """What went wrong reaching a PostgreSQL server, in words a person can act on."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = safe_url(url)
    low = detail.lower()
    if "connection refused" in low or "could not connect" in low or "no route" in low or "timeout" in low:
        fix = "Start the PostgreSQL server, or correct the host and port in NEXUS_DATABASE_URL."
    elif "password authentication failed" in low or "no password supplied" in low or ("role" in low \
            and "does not exist" in low):
        fix = "Correct the user name and password in NEXUS_DATABASE_URL."
    elif "database" in low and "does not exist" in low:
        fix = "Create it first (e.g. `createdb nexus`), or correct the database name in NEXUS_DATABASE_URL."
    elif "translate host name" in low or "name or service not known" in low:
        fix = "The host name is wrong: correct it in NEXUS_DATABASE_URL."
    else:
        fix = "Check NEXUS_DATABASE_URL and that the server accepts this user."
    return f"Cannot use the PostgreSQL database at {where}: {detail}. Nothing was changed. {fix}"


SQLITE_CACHE_KIB = 512


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Each pooled connection keeps its own page cache (SQLite's default: up to 2 MiB), filled
    # slowly as the file grows: with the pool's 5 connections that was ~10 MB of RSS creeping
    # up for hours (issue 13; the chaos soak's slope went 1.41 -> 0.68 MB/min with 512 KiB).
    # The OS caches the file anyway, so a miss costs a pread, not a disk read.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def check_sqlite_file(path: Path) -> None:
    """Read-only look at an existing file before SQLAlchemy (and WAL mode) touches it."""
    if not path.exists() or path.stat().st_size == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            # Reading the schema catches a damaged header or a non-database file. A full
            # integrity check would cost seconds on a large store at every start.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"The database file {path} is damaged or is not a database ({exc}). Nothing was changed. "
            "Move it aside (or restore a backup) and start Nexus again."
        ) from exc

