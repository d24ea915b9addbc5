"""The `nexus` command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from nexus import __version__

DEFAULT_PORT = 7420
GIL_SWITCH_SECONDS = 0.001  # see main()


def port_number(text: str) -> int:
    """--port: a TCP port, 0 to 65535 (argparse prints this message and exits 2, no traceback)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a port from 0 to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port; give a port from 0 to 65535 (0 picks a free one)")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nexus", description="A control center for your OpenCode coding agent.")
    parser.add_argument("--version", action="version", version=f"nexus {__version__}")
    sub = parser.add_subparsers(dest="command")

    def data_dir_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", help="where Nexus keeps its files (default: $NEXUS_HOME or the per-user "
                                          "data folder)")

    serve = sub.add_parser("serve", help="run headless: the web UI on localhost")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback only; default 127.0.0.1)")
    serve.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks one)")
    data_dir_option(serve)

    window = sub.add_parser("window", help="open the desktop window (what plain `nexus` does)")
    window.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks one)")
    data_dir_option(window)

    doctor = sub.add_parser("doctor", help="check this machine and say what is missing")
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    data_dir_option(doctor)

    db = sub.add_parser("db", help="move the whole store to or from a file (SQLite <-> PostgreSQL)")
    data_dir_option(db)
    db_sub = db.add_subparsers(dest="action", required=True)
    export = db_sub.add_parser("export", help="copy the configured store into a new SQLite file")
    export.add_argument("file", help="the SQLite file to create (must not exist)")
    import_ = db_sub.add_parser("import", help="copy a Nexus SQLite file into the configured store "
                                               "(e.g. PostgreSQL via NEXUS_DATABASE_URL)")
    import_.add_argument("file", help="a Nexus SQLite file: an export, or a data dir's nexus.db")
    import_.add_argument("--replace", action="store_true", help="empty a store that already holds data first")

    settings = sub.add_parser("settings", help="show or change settings")
    data_dir_option(settings)
    settings_sub = settings.add_subparsers(dest="action", required=True)
    settings_sub.add_parser("list", help="every setting with its value")
    get = settings_sub.add_parser("get", help="one setting's value")
    get.add_argument("key")
    set_ = settings_sub.add_parser("set", help="change a setting (VALUE is JSON, or plain text)")
    set_.add_argument("key")
    set_.add_argument("value")
    reset = settings_sub.add_parser("reset", help="put a setting back to its default")
    reset.add_argument("key")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in (None, "window", "serve"):
        from nexus import startup_gc
        from nexus.glibc_malloc import limit_malloc_arenas

        # Both run the whole server: before any thread starts, so glibc's per-thread arenas
        # cannot keep the high-water mark of every connection's thread.
        limit_malloc_arenas()
        startup_gc.pause()  # until the services have started (Host.start_services)
        # A thread woken by another (a WebSocket sender by the OpenCode reader that queued a
        # delta) waits for the GIL until the busy thread blocks or the switch interval ends:
        # 5 ms by default, a whole flush window. At 1 ms the relay's p99 fell by ~40% at the
        # same CPU per delta (bench/relay_cpu.py --interval-ms 5, interleaved runs).
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        try:
            if args.command == "serve":
                from nexus.host.headless import serve

                return serve(args.host, args.port, args.data_dir)
            from nexus.desktop.app import run_desktop

            return run_desktop(getattr(args, "data_dir", None), getattr(args, "port", DEFAULT_PORT))
        finally:
            startup_gc.resume()  # a start that never got that far (a refusal, a hand-over)
    if args.command == "doctor":
        return doctor(args.data_dir, as_json=args.json)
    if args.command == "settings":
        return settings_command(args)
    if args.command == "db":
        from nexus.store.transfer_cli import db_command

        return db_command(args)
    return 2


def _fail(message: str) -> int:
    print(f"nexus: {message}", file=sys.stderr)
    return 2


def doctor(data_dir: str | None, *, as_json: bool = False) -> int:
    from nexus.doctor import Check, run_checks
    from nexus.paths import DataPaths, resolve_data_dir
    from nexus.store import Database, StoreError
    from nexus.store.database import sqlite_url
    from nexus.store.health import check_store

    paths = DataPaths(resolve_data_dir(data_dir))
    settings = None
    url = os.environ.get("NEXUS_DATABASE_URL") or sqlite_url(paths.database)
    health = check_store(url)
    store_check = Check("Store", health.ok, health.detail, health.fix)
    if health.current:
        # Read the settings only from a store at this Nexus's schema: the doctor migrates nothing.
        try:
            db = Database.open(url)
            from nexus.settings import Settings
            from nexus.settings_repository import SettingsRepository

            settings = Settings(SettingsRepository(db))
        except (StoreError, OSError) as exc:
            store_check = Check("Store", False, str(exc), "See the message; Nexus never overwrites a database.")
    checks = [*run_checks(settings, paths), store_check]
    if as_json:
        print(json.dumps([c.to_json() for c in checks], indent=2))
    else:
        for check in checks:
            mark = "ok  " if check.ok else ("MISS" if check.required else "warn")
            print(f"[{mark}] {check.name}: {check.detail}")
            if not check.ok and check.fix:
                print(f"       fix: {check.fix}")
    return 0 if all(c.ok or not c.required for c in checks) else 1


def settings_command(args: argparse.Namespace) -> int:
    from nexus.paths import DataPaths, resolve_data_dir
    from nexus.settings import Settings, SettingsError
    from nexus.settings_repository import SettingsRepository
    from nexus.store import Database, StoreError
    from nexus.store.database import sqlite_url

    paths = DataPaths(resolve_data_dir(args.data_dir)).ensure()
    try:
        db = Database.open(os.environ.get("NEXUS_DATABASE_URL") or sqlite_url(paths.database))
    except StoreError as exc:
        return _fail(str(exc))
    try:
        settings = Settings(SettingsRepository(db))
        if args.action == "list":
            for spec in settings.specs():
                print(f"{spec.key} = {json.dumps(settings[spec.key])}    # {spec.description}")
        elif args.action == "get":
            if args.key not in settings.all():
                return _fail(f"no such setting: {args.key} (see `nexus settings list`)")
            print(json.dumps(settings[args.key]))
        elif args.action == "set":
            try:
                value = json.loads(args.value)
            except json.JSONDecodeError:
                value = args.value
            settings.update({args.key: value})
            print(f"{args.key} = {json.dumps(settings[args.key])}")
        elif args.action == "reset":
            settings.reset([args.key])
            print(f"{args.key} = {json.dumps(settings[args.key])}")
    except SettingsError as exc:
        return _fail(str(exc))
    finally:
        db.close()
    return 0
