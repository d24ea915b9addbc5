"""Debug only: what Nexus's threads and memory are, for `bench/chaos.py`.

Off unless the environment variable `NEXUS_DEBUG_DUMP` names a directory when `nexus serve`
starts. Then each SIGUSR2 writes `threads-<n>.json` there (the names of the live Python
threads), and, if `NEXUS_DEBUG_TRACEMALLOC` is also set, `snapshot-<n>.pickle`: a
`tracemalloc` snapshot, tracing having started with Nexus. Tracing slows Nexus down and
costs memory of its own, so it is never on otherwise. The files are written by the signal
handler, i.e. on the main thread between two of its waits, and appear whole (renamed into
place) so that the bench can wait for them.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

DUMP_ENV = "NEXUS_DEBUG_DUMP"
TRACE_ENV = "NEXUS_DEBUG_TRACEMALLOC"
FRAMES = 12


def install_from_env() -> bool:
    """Listen for SIGUSR2 (and trace allocations) if asked to; False, nothing done, if not."""
    target = os.environ.get(DUMP_ENV)
    if not target:
        return False
    import tracemalloc  # only when asked: `nexus serve` calls this at every start

    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    tracing = bool(os.environ.get(TRACE_ENV))
    if tracing:
        tracemalloc.start(FRAMES)
    taken = [0]

    def dump(*_: object) -> None:
        taken[0] += 1
        n = taken[0]
        if tracing:
            _write(folder, f"snapshot-{n}.pickle", lambda path: tracemalloc.take_snapshot().dump(str(path)))
        names = sorted(t.name for t in threading.enumerate())
        _write(folder, f"threads-{n}.json", lambda path: path.write_text(json.dumps(names)))

    signal.signal(signal.SIGUSR2, dump)
    return True


def _write(folder: Path, name: str, writer: Callable[[Path], object]) -> None:
    partial = folder / f".{name}.tmp"
    writer(partial)
    partial.rename(folder / name)
