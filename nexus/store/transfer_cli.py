"""`nexus db export FILE` and `nexus db import FILE`: the configured store (NEXUS_DATABASE_URL,
or the data dir's SQLite file) to or from a Nexus SQLite file, verified by row counts."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nexus.store.database import Database, StoreError, safe_url, sqlite_url
from nexus.store.transfer import copy_store


def configured_url(data_dir: str | None) -> str:
    from nexus.paths import DataPaths, resolve_data_dir

    return os.environ.get("NEXUS_DATABASE_URL") or sqlite_url(DataPaths(resolve_data_dir(data_dir)).ensure().database)


def db_command(args: argparse.Namespace) -> int:
    file = Path(args.file).expanduser().resolve()
    url = configured_url(args.data_dir)
    try:
        if args.action == "export":
            return _export(url, file)
        return _import(url, file, replace=args.replace)
    except StoreError as exc:
        print(f"nexus: {exc}", file=sys.stderr)
        return 2


def _same(url: str, file: Path) -> bool:
    return url.startswith("sqlite:///") and Path(url.removeprefix("sqlite:///")).resolve() == file


def _export(url: str, file: Path) -> int:
    if file.exists():
        raise StoreError(f"{file} already exists. Nothing was changed. Choose a new file name.")
    if _same(url, file):
        raise StoreError("That file is the configured store itself.")
    source = Database.open(url)
    target = None
    try:
        target = Database.open(sqlite_url(file))
        counts = copy_store(source, target)
    except BaseException:
        if target is not None:
            target.close()
            target = None
        for leftover in (file, file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")):
            leftover.unlink(missing_ok=True)  # a half-made export must not look like a good one
        raise
    finally:
        source.close()
        if target is not None:
            target.close()
    _report("exported", safe_url(url), str(file), counts)
    return 0


def _import(url: str, file: Path, *, replace: bool) -> int:
    if not file.is_file():
        raise StoreError(f"{file} does not exist. Give a file made by `nexus db export` or a data dir's nexus.db.")
    if _same(url, file):
        raise StoreError("That file is the configured store itself.")
    source = Database.open(sqlite_url(file))
    try:
        target = Database.open(url)
        try:
            counts = copy_store(source, target, replace=replace)
        finally:
            target.close()
    finally:
        source.close()
    _report("imported", str(file), safe_url(url), counts)
    return 0


def _report(verb: str, source: str, target: str, counts: dict[str, int]) -> None:
    print(f"{verb} {sum(counts.values())} rows from {source} into {target}; counts match on both sides:")
    for name, count in counts.items():
        print(f"  {name:<18} {count}")
