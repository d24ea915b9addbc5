"""Tells a full disk or a read-only store from other database errors, in words for people.

SQLite says "database or disk is full" / "attempt to write a readonly database"; PostgreSQL
says "No space left on device" (SQLSTATE 53100) / "read-only transaction"; the OS says
ENOSPC / EROFS. Callers answer these clearly (HTTP 507 / 503) instead of with a traceback.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

DISK_FULL = "disk_full"
READ_ONLY = "read_only"

_FULL_WORDS = ("database or disk is full", "no space left on device", "disk full", "could not extend file")
_READ_ONLY_WORDS = ("readonly database", "read-only file system", "read-only transaction", "read only")


@dataclass(frozen=True)
class StorageProblem:
    code: str  # DISK_FULL or READ_ONLY
    status: int  # the HTTP status an API answers with
    message: str


def storage_problem(exc: BaseException) -> StorageProblem | None:
    """A full disk or read-only store behind `exc` (or its causes), else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        number = getattr(current, "errno", None)
        text = str(current).lower()
        sqlstate = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if number == errno.ENOSPC or sqlstate == "53100" or any(w in text for w in _FULL_WORDS):
            return StorageProblem(DISK_FULL, 507, "The disk Nexus saves to is full. Free some space; what is "
                                                  "being streamed is kept in memory and saved once there is room.")
        if number == errno.EROFS or any(w in text for w in _READ_ONLY_WORDS):
            return StorageProblem(READ_ONLY, 503, "Nexus's data folder is read-only, so nothing can be saved. "
                                                  "Make it writable (or choose another with NEXUS_HOME).")
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None


def unusable_data_dir(root: object, exc: OSError) -> str:
    """Why Nexus cannot start with the data folder `root`, and what to do about it."""
    problem = storage_problem(exc)
    if problem is not None and problem.code == DISK_FULL:
        return f"The disk holding Nexus's data folder {root} is full. Free some space and start Nexus again."
    if problem is not None or exc.errno in (errno.EACCES, errno.EPERM):
        return (f"Nexus cannot write to its data folder {root} ({exc.strerror or exc}). Make it writable, or "
                "choose another folder with NEXUS_HOME or --data-dir.")
    return f"Nexus cannot use its data folder {root}: {exc.strerror or exc}."
