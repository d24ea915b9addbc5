"""`nexus serve`: Nexus without a window, on this computer's loopback address, until
SIGINT or SIGTERM. Also where the desktop launch falls back to when no window can open."""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
import threading

from nexus import __version__


def _fail(message: str) -> int:
    print(f"nexus: {message}", file=sys.stderr)
    return 2


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str, port: int, data_dir: str | None) -> int:
    if not _is_loopback(host):
        return _fail(f"refusing to listen on {host}: Nexus serves this computer only (use 127.0.0.1). "
                     "Reach it from other devices through its tunnel, which requires sign-in.")
    from nexus.host.host import Host
    from nexus.host.instance_lock import AlreadyRunning
    from nexus.paths import resolve_data_dir
    from nexus.store import StoreError
    from nexus.store.space import unusable_data_dir
    from nexus.ui.http_server import PortInUse

    try:
        host_ = Host(data_dir, host, port)
        host_.open()
    except OSError as exc:  # the data folder is read-only, or its disk is full: said, not a traceback
        return _fail(unusable_data_dir(data_dir or resolve_data_dir(None), exc))
    except AlreadyRunning as exc:
        from nexus.host.handover import hand_over  # a second launch only (webbrowser's import costs ~2 ms)

        info = host_.lock.wait_for_url() or exc.info
        print(f"nexus: {hand_over(info, open_browser=False)}", flush=True)
        return 0
    except (StoreError, PortInUse) as exc:
        return _fail(str(exc))

    from nexus import debug_memory

    debug_memory.install_from_env()  # tracemalloc for the chaos bench; nothing unless its variable is set
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    setup_token = host_.runtime.auth.setup_token()  # until an owner exists, only this address opens Nexus
    address = f"{host_.url}/?token={setup_token}" if setup_token else host_.url
    try:
        _say(f"Nexus {__version__} is running at {address}  (data: {host_.paths.root}; Ctrl+C stops it)")
        host_.start_services()
        while not done.wait(0.5):
            pass
    finally:
        # Stopping comes first and cannot be skipped by a console that went away (a pipe
        # whose reader has gone turns every print into BrokenPipeError).
        _say("nexus: shutting down", sys.stderr)
        try:
            host_.stop()
        finally:
            from nexus.logs import shutdown_logging

            shutdown_logging()
            _silence_gone_console()
    return 0


def _say(text: str, stream=None) -> None:
    """Print, unless the console is gone: Nexus goes on (and stops cleanly) without it."""
    try:
        print(text, file=stream or sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


def _silence_gone_console() -> None:
    """Point stdout/stderr at /dev/null if their reader has gone, so that the interpreter's
    own flush at exit does not turn a clean stop into exit code 120."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError):
                pass
