"""At most two glibc malloc arenas for Nexus's process (issue 13, the chaos soak's RSS slope).

Nexus serves each connection on a thread of its own, and glibc gives threads their own
malloc arenas (up to 8 per core), each keeping its high-water mark after Python frees the
memory: RSS then climbs with use without any object being kept. Measured with the chaos
bench (two 240 s soaks side by side, 10 streaming sessions, load ~10): RSS slope 10.4 MB/min
and 86 -> 140 MB with the default, 2.6 MB/min and 86 -> 111 MB with MALLOC_ARENA_MAX=2.
Called before Nexus starts its threads; `MALLOC_ARENA_MAX` in the environment still wins.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2


def limit_malloc_arenas() -> bool:
    """True if glibc took the limit; False elsewhere (macOS, Windows, musl) or if set by env."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        # The process's own symbols, libc's among them: ctypes.util.find_library would cost
        # ~10 ms of start-up (it imports subprocess and tempfile and runs ldconfig).
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_ARENA_MAX, ARENAS))
    except (OSError, AttributeError):
        return False
