"""Debug only: what Nexus's threads and memory are, for `bench/chaos.py`.

Off unless the environment variable `NEXUS_DEBUG_DUMP` names a directory when `nexus serve`
starts. Then each SIGUSR2 writes there `threads-<n>.json` (the names of the live Python
threads), `memory-<n>.json` (where the native memory is: `native_memory()`), and, if
`NEXUS_DEBUG_TRACEMALLOC` is also set, `snapshot-<n>.pickle`: a `tracemalloc` snapshot,
tracing having started with Nexus. Tracing slows Nexus down and costs memory of its own, so
it is never on otherwise. The files are written by the signal handler, i.e. on the main
thread between two of its waits, and appear whole (renamed into place) so that the bench can
wait for them; the folder is made private to the user (0700), as the dumps show what Nexus
holds. Only a process of the same user (or root) can send the signal.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

DUMP_ENV = "NEXUS_DEBUG_DUMP"
TRACE_ENV = "NEXUS_DEBUG_TRACEMALLOC"
FRAMES = 12
# Free chunks of glibc's arenas by size: under 1 kB (Python's bigger objects, C structs), up to
# a page (SQLite's page-cache pages are 4.2 kB: just over), to 64 kB (texts, buffers), beyond.
FREE_SIZES = {"<1k": 1024, "1k-4k": 4096, "4k-8k": 8192, "8k-64k": 65536, ">=64k": float("inf")}


def install_from_env() -> bool:
    """Listen for SIGUSR2 (and trace allocations) if asked to; False, nothing done, if not."""
    target = os.environ.get(DUMP_ENV)
    if not target:
        return False
    import tracemalloc  # only when asked: `nexus serve` calls this at every start

    folder = Path(target)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)  # what Nexus holds is for its user only, also in a folder that existed
    tracing = bool(os.environ.get(TRACE_ENV))
    if tracing:
        tracemalloc.start(FRAMES)
    taken = [0]

    def dump(*_: object) -> None:
        taken[0] += 1
        n = taken[0]
        if tracing:
            _write(folder, f"snapshot-{n}.pickle", lambda path: tracemalloc.take_snapshot().dump(str(path)))
        _write(folder, f"memory-{n}.json", lambda path: path.write_text(json.dumps(native_memory())))
        names = sorted(t.name for t in threading.enumerate())
        _write(folder, f"threads-{n}.json", lambda path: path.write_text(json.dumps(names)))

    signal.signal(signal.SIGUSR2, dump)
    return True


def _write(folder: Path, name: str, writer: Callable[[Path], object]) -> None:
    partial = folder / f".{name}.tmp"
    writer(partial)
    partial.rename(folder / name)


# ----- where the native memory is ------------------------------------------------------------


def native_memory() -> dict[str, Any]:
    """Resident memory by kind of mapping (/proc/self/smaps), glibc's arenas (malloc_info),
    SQLite's own allocator (sqlite3_status64) and pymalloc's arenas (sys._debugmallocstats).
    Linux only; each part that cannot be read is left out."""
    report: dict[str, Any] = {}
    for key, read in (("smaps_kib", _smaps), ("glibc", _malloc_info), ("sqlite", _sqlite_status),
                      ("pymalloc", _pymalloc), ("python_objects", _object_counts)):
        try:
            report[key] = read()
        except (OSError, AttributeError, ValueError) as exc:
            report[key] = {"unreadable": f"{type(exc).__name__}: {exc}"}
    return report


def _smaps() -> dict[str, int]:
    """Rss in KiB per mapping: a file by its name, `[heap]`, `[stack]`, anonymous mappings of
    under 1 MiB and of 1 MiB or more (thread stacks, glibc's arena heaps, big blocks)."""
    totals: dict[str, int] = {}
    name = ""
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$", line)
            if head:
                size = int(head.group(2), 16) - int(head.group(1), 16)
                name = head.group(3).strip().rsplit("/", 1)[-1] or ("[anon>=1M]" if size >= 1 << 20 else "[anon<1M]")
            elif line.startswith("Rss:"):
                totals[name] = totals.get(name, 0) + int(line.split()[1])
    return {k: v for k, v in sorted(totals.items(), key=lambda kv: -kv[1]) if v}


def _malloc_info() -> dict[str, Any]:
    """glibc's view: per arena, bytes it holds from the OS and bytes free in it."""
    libc = ctypes.CDLL(None)
    libc.open_memstream.restype = ctypes.c_void_p
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    buf, size = ctypes.c_char_p(), ctypes.c_size_t()
    stream = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    xml = ctypes.string_at(buf, size.value).decode()
    libc.free(buf)
    arenas = []
    for heap in re.findall(r'<heap nr="\d+">(.*?)</heap>', xml, re.S):
        fast = sum(int(x) for x in re.findall(r'<total type="fast" count="\d+" size="(\d+)"', heap))
        rest = sum(int(x) for x in re.findall(r'<total type="rest" count="\d+" size="(\d+)"', heap))
        current = re.search(r'<system type="current" size="(\d+)"', heap)
        mmap = re.search(r'<total type="mmap" count="\d+" size="(\d+)"', heap)
        by_size = dict.fromkeys(FREE_SIZES, 0)  # free bytes by chunk size: what the holes are
        for low, total in re.findall(r'<size from="(\d+)" to="\d+" total="(\d+)"', heap):
            by_size[next(name for name, below in FREE_SIZES.items() if int(low) < below)] += int(total)
        arenas.append({"system": int(current.group(1)) if current else 0, "free": fast + rest,
                       "mmap": int(mmap.group(1)) if mmap else 0, "free_by_size": by_size})
    tail = xml.rsplit("</heap>", 1)[-1]
    mmap_total = re.search(r'<total type="mmap" count="(\d+)" size="(\d+)"', tail)
    system = re.search(r'<system type="current" size="(\d+)"', tail)
    return {"arenas": arenas, "system": int(system.group(1)) if system else None,
            "mmap_blocks": int(mmap_total.group(1)) if mmap_total else None,
            "mmap_bytes": int(mmap_total.group(2)) if mmap_total else None}


def _sqlite_library() -> ctypes.CDLL:
    with open("/proc/self/maps") as maps:
        for line in maps:
            if "libsqlite3" in line:
                return ctypes.CDLL(line.split()[-1])
    raise OSError("libsqlite3 not loaded")


def _sqlite_status() -> dict[str, int]:
    """SQLite's allocations (page caches, schemas, prepared statements): now and highest."""
    lib = _sqlite_library()
    lib.sqlite3_status64.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_int64),
                                     ctypes.POINTER(ctypes.c_int64), ctypes.c_int]
    out: dict[str, Any] = {}
    for key, op in (("memory_used", 0), ("pagecache_overflow", 2), ("malloc_count", 9)):
        now, high = ctypes.c_int64(), ctypes.c_int64()
        lib.sqlite3_status64(op, ctypes.byref(now), ctypes.byref(high), 0)
        out[key], out[key + "_highest"] = now.value, high.value
    out["connections"] = _sqlite_connections(lib)
    return out


def _sqlite_connections(lib: ctypes.CDLL) -> list[dict[str, int]]:
    """`sqlite_connection_memory` of every open `sqlite3.Connection`."""
    import gc
    import sqlite3

    found = []
    for conn in [o for o in gc.get_objects() if type(o) is sqlite3.Connection]:
        numbers = sqlite_connection_memory(conn, lib)
        if numbers is not None:
            found.append(numbers)
    return found


def sqlite_connection_memory(conn: Any, lib: ctypes.CDLL | None = None) -> dict[str, int] | None:
    """Bytes of one `sqlite3.Connection`'s page cache, schema and prepared statements
    (sqlite3_db_status); None once it is closed. CPython's connection object holds its
    `sqlite3 *` right after the object header."""
    lib = lib or _sqlite_library()
    lib.sqlite3_db_status.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                      ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = ctypes.c_void_p.from_address(id(conn) + sys.getsizeof(object())).value
    if not handle:
        return None
    numbers = {}
    for key, op in (("cache", 1), ("schema", 2), ("statements", 3)):
        now, high = ctypes.c_int(), ctypes.c_int()
        lib.sqlite3_db_status(handle, op, ctypes.byref(now), ctypes.byref(high), 0)
        numbers[key] = now.value
    return numbers


def _object_counts(top: int = 30) -> dict[str, int]:
    """The most numerous kinds of objects the garbage collector tracks (containers, not str)."""
    import collections
    import gc

    counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    return dict(counts.most_common(top))


def _pymalloc() -> dict[str, int]:
    """pymalloc's arenas (256 KiB each) in use and the bytes free inside them."""
    debugmallocstats = getattr(sys, "_debugmallocstats", None)
    if debugmallocstats is None:
        raise AttributeError("no sys._debugmallocstats")
    with tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(capture.fileno(), 2)  # it writes to the C stderr
            debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        stats = capture.read().decode(errors="replace")
    numbers = {}
    for key, label in (("arenas_allocated_now", r"# arenas allocated current"),
                       ("arenas_highest", r"# arenas highwater mark"),
                       ("bytes_in_allocated_blocks", r"# bytes in allocated blocks"),
                       ("bytes_in_available_blocks", r"# bytes in available blocks"),
                       ("bytes_lost_to_pool_headers", r"# bytes lost to pool headers"),
                       ("total", r"Total")):
        found = re.search(label + r"\s*=\s*([\d,]+)", stats)
        if found:
            numbers[key] = int(found.group(1).replace(",", ""))
    if not numbers:  # it prints nothing when pymalloc is not the allocator, e.g. under tracemalloc
        raise ValueError("pymalloc is not the allocator (tracemalloc, or PYTHONMALLOC set)")
    return numbers
