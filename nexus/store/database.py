"""Opening the database safely.

Start-up refuses, with a message a person can act on, a database that is corrupt, that
is not a Nexus database, or that a newer Nexus migrated; it never overwrites one. An
older database is copied aside before it is migrated.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from nexus.store.migrations import HEAD_REVISION

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class StoreError(RuntimeError):
    """The store cannot be used; the message says why and what to do."""


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        connect_args = {"check_same_thread": False, "timeout": 30} if self.is_sqlite else {}
        self.engine: Engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> "Database":
        """Connect, check and migrate. Raises StoreError without touching a bad file."""
        if url.startswith("sqlite:///"):
            _check_sqlite_file(Path(url.removeprefix("sqlite:///")))
        db = cls(url)
        try:
            db.migrate()
        except StoreError:
            db.close()
            raise
        except (DatabaseError, OperationalError) as exc:
            db.close()
            raise StoreError(f"The database at {url} cannot be read ({exc.orig}). "
                             "Nothing was changed. Move the file aside to start afresh.") from exc
        return db

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def migrate(self) -> None:
        current = self.current_revision()
        if current == HEAD_REVISION:
            return
        # Importing Alembic costs ~0.2 s of start-up, so only do it when there is work.
        from alembic import command
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
        if current is None:
            with self.engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
            if tables:
                raise StoreError(
                    f"The database at {self.url} has tables ({', '.join(sorted(tables)[:5])}) but is not "
                    "a Nexus database. Nothing was changed. Point Nexus at another data dir."
                )
        elif current not in known:
            raise StoreError(
                f"The database at {self.url} was written by a newer Nexus (schema {current}). "
                "Nothing was changed. Update Nexus, or use another data dir."
            )
        else:
            self._backup_before_migration(current)
        # A first start creates the schema: nothing to tell a newcomer (no migration chatter).
        first_start = current is None
        log.log(logging.DEBUG if first_start else logging.INFO, "migrating store from %s to %s",
                current or "empty", HEAD_REVISION)
        alembic_log = logging.getLogger("alembic")
        level = alembic_log.level
        if first_start:
            alembic_log.setLevel(logging.WARNING)
        try:
            with self.engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        finally:
            alembic_log.setLevel(level)

    def _backup_before_migration(self, revision: str) -> None:
        if not self.url.startswith("sqlite:///"):
            return  # server databases have their own backups
        path = Path(self.url.removeprefix("sqlite:///"))
        backup = path.with_name(f"{path.name}.before-{HEAD_REVISION}-from-{revision}.bak")
        with self.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
        shutil.copy2(path, backup)
        log.info("copied the database to %s before migrating", backup.name)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _check_sqlite_file(path: Path) -> None:
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

