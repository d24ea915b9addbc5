"""A throwaway PostgreSQL server for the tests: Debian's `postgresql` binaries, a cluster made
by initdb in a temporary folder, listening on a free loopback port only, stopped and deleted
at the end of the run.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
that Debian's package creates (its folder is handed to that user) and the programs run
through `runuser`.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

INSTALL_HINT = "apt-get install postgresql (scripts/test.sh does this when run as root)"

# A test that runs on PostgreSQL only: its `database_url` is a new database on the session's server.
on_postgres = pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                                      indirect=True)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server programs are not on this machine."""


def find_bindir() -> Path:
    """The folder holding initdb, pg_ctl and postgres: $NEXUS_TEST_PG_BINDIR, pg_config, or
    Debian's /usr/lib/postgresql/<newest>/bin."""
    explicit = os.environ.get("NEXUS_TEST_PG_BINDIR")
    candidates = [explicit] if explicit else []
    if not explicit and shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    if not explicit:
        candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name),
                             reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise PostgresUnavailable(f"PostgreSQL's server programs (initdb, pg_ctl) are not installed: {INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One cluster; `create_database()` hands each test an empty database of its own."""

    USER = "nexus_test"

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.folder = Path(tempfile.mkdtemp(prefix="nexus-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as: list[str] = []
        self._owner: pwd.struct_passwd | None = None
        self._counter = itertools.count(1)
        self.started = False
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root needs the `postgres` user that Debian's postgresql "
                                          f"package creates: {INSTALL_HINT}") from None
            os.chown(self.folder, self._owner.pw_uid, self._owner.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run([*self._as, *args], check=False, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL, cwd=self.folder)
        if result.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}): "
                               f"{result.stdout[-1000:]}{result.stderr[-2000:]}\n{tail}")

    def start(self) -> PostgresServer:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.USER, "--auth=trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        # Loopback TCP only (no Unix socket in a shared folder); durability is not needed here.
        options = (f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "server.log"),
                  "-w", "-t", "60", "-o", options, "start")
        self.started = True
        return self

    def stop(self) -> None:
        try:
            if self.started:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
                self.started = False
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        name = f"nexus_{os.getpid()}_{next(self._counter)}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
