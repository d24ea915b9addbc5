"""Keeping glibc's malloc from holding on to memory Python has freed (issue 13, the chaos
soak's RSS slope). Linux with glibc only; elsewhere every call here does nothing.

- **Two arenas** (`limit_malloc_arenas`). Nexus serves each connection on a thread of its own,
  and glibc gives threads their own malloc arenas (up to 8 per core), each keeping its
  high-water mark after Python frees the memory: RSS then climbs with use without any object
  being kept. Measured with the chaos bench (two 240 s soaks side by side, 10 streaming
  sessions, load ~10): RSS slope 10.4 MB/min and 86 -> 140 MB with the default, 2.6 MB/min
  and 86 -> 111 MB with MALLOC_ARENA_MAX=2.
- **Fixed thresholds** (same call). By default glibc raises its mmap threshold to the size of
  every large block freed (up to 32 MB), and its trim threshold with it: after one big
  snapshot or page of history, blocks of that size come from the heap and the heap's free
  top is no longer given back. Fixing both turns that adjustment off. The mmap threshold is
  64 kB, half glibc's start: the soak's remaining creep was free space in the arenas in holes
  of 64 kB and over (+2.1 MB over its second half; big short-lived blocks such as a streaming
  part's text, rebuilt at each delta, and a page of 500 messages), which `malloc_trim` gave
  back only for it to be written again. Blocks that size are now mapped on their own and
  unmapped when freed: those holes grew +0.3 MB and the slope went 0.61-0.71 -> 0.49 MB/min.
- **Giving free pages back** (`return_free_memory`). Long-lived text (a session's newest
  replies) sits between freed blocks, so the heap's free space is spread out rather than at
  its top, where the thresholds can reach it. `malloc_trim(0)` also releases whole free
  pages inside the heap (madvise): the transcript writer calls it after it has saved and
  evicted, at most once per `TRIM_EVERY` seconds.

Called before Nexus starts its threads; `MALLOC_ARENA_MAX` in the environment still wins.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from typing import Any

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 64 * 1024  # half glibc's starting value, kept fixed (see above)
TRIM_THRESHOLD = 256 * 1024
TRIM_EVERY = 30.0

_libc: Any = None
_trim_lock = threading.Lock()
_last_trim = [0.0]


def _glibc() -> Any:
    """glibc, or None (another OS, or another C library such as musl)."""
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            try:
                # The process's own symbols, libc's among them: ctypes.util.find_library would
                # cost ~10 ms of start-up (it imports subprocess and tempfile, runs ldconfig).
                libc = ctypes.CDLL(None)
                libc.gnu_get_libc_version  # noqa: B018 -- only glibc has it
                _libc = libc
            except (OSError, AttributeError):
                pass
    return _libc or None


def limit_malloc_arenas() -> bool:
    """True if glibc took the arena limit; False elsewhere or if `MALLOC_ARENA_MAX` is set.
    The thresholds are fixed either way (where glibc is)."""
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, ARENAS))


def return_free_memory(now: float | None = None) -> bool:
    """Give the heap's free pages back to the OS, at most once per TRIM_EVERY seconds; True
    when it ran now. Cheap (it walks the free lists), but not for every request."""
    libc = _glibc()
    if libc is None:
        return False
    now = time.monotonic() if now is None else now
    with _trim_lock:
        if now - _last_trim[0] < TRIM_EVERY:
            return False
        _last_trim[0] = now
    libc.malloc_trim(0)
    return True
