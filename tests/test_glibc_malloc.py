"""glibc's malloc is kept from holding memory Python freed (nexus/glibc_malloc.py): two arenas,
fixed thresholds, free pages given back now and then. The figures that justify it come from
bench/chaos.py's soak. Run in child processes where the setting is per process."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from nexus import glibc_malloc

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                                reason="glibc's mallopt only")

CALL = "from nexus.glibc_malloc import limit_malloc_arenas; print(limit_malloc_arenas())"


def _run(code: str, env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          check=True).stdout.strip()


def test_glibc_takes_the_limit() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _run(CALL, env) == "True"


def test_the_environment_still_wins() -> None:
    assert _run(CALL, {**os.environ, "MALLOC_ARENA_MAX": "4"}) == "False"


# Freeing a block above the default mmap threshold raises glibc's thresholds (the dynamic
# adjustment); with them fixed, 2 MB blocks stay mmapped, so freeing them returns the memory.
_BIG_BLOCKS = """
import ctypes, sys
from nexus.glibc_malloc import limit_malloc_arenas
if sys.argv[1] == "fixed":
    limit_malloc_arenas()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free(ctypes.c_void_p(libc.malloc(4 << 20)))  # one big free: the dynamic threshold goes up
blocks = [libc.malloc(2 << 20) for _ in range(20)]
for b in blocks:
    ctypes.memset(b, 1, 2 << 20)
for b in blocks[:-1]:  # the last stays, above the rest: the heap top cannot be trimmed
    libc.free(ctypes.c_void_p(b))
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20
print(rss())
"""


def test_fixed_thresholds_give_freed_big_blocks_back() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    default = int(_run(_BIG_BLOCKS.replace("sys.argv[1]", "'default'"), env))
    fixed = int(_run(_BIG_BLOCKS.replace("sys.argv[1]", "'fixed'"), env))
    assert default - fixed >= 30, f"RSS after freeing 38 MB: {default} MB by default, {fixed} MB fixed"


# Blocks of 64-128 kB (a streaming part's text, a page of messages) between small blocks that
# stay: from the heap by default, where freeing them leaves holes only malloc_trim could reach;
# above the fixed 64 kB threshold, each is mapped on its own and unmapped when freed.
_MID_BLOCKS = """
import ctypes, sys
from nexus.glibc_malloc import limit_malloc_arenas
if sys.argv[1] == "fixed":
    limit_malloc_arenas()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
big, small = [], []
for _ in range(400):
    big.append(libc.malloc(80 << 10))
    ctypes.memset(big[-1], 1, 80 << 10)
    small.append(libc.malloc(200))  # stays: the freed blocks below it cannot be trimmed off the top
for b in big:
    libc.free(ctypes.c_void_p(b))
print(int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20)
"""


def test_freed_blocks_of_64_to_128_kb_are_given_back() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    default = int(_run(_MID_BLOCKS.replace("sys.argv[1]", "'default'"), env))
    fixed = int(_run(_MID_BLOCKS.replace("sys.argv[1]", "'fixed'"), env))
    assert default - fixed >= 20, f"RSS after freeing 31 MB of 80 kB blocks: {default} MB by default, {fixed} MB fixed"


def test_return_free_memory_runs_at_most_every_trim_every_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(glibc_malloc, "_last_trim", [0.0])
    start = 1_000_000.0
    assert glibc_malloc.return_free_memory(start) is True
    assert glibc_malloc.return_free_memory(start + glibc_malloc.TRIM_EVERY / 2) is False
    assert glibc_malloc.return_free_memory(start + glibc_malloc.TRIM_EVERY) is True


@pytest.mark.parametrize("argv", [[], ["window"], ["serve"]])
def test_every_command_that_runs_the_server_limits_arenas_first(argv: list[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The desktop window runs the same server threads as `nexus serve`: both limit arenas,
    and before the server (and so any of its threads) starts."""
    import nexus.desktop.app
    import nexus.host.headless
    import nexus.startup_gc
    from nexus.cli import main

    calls: list[str] = []
    monkeypatch.setattr(glibc_malloc, "limit_malloc_arenas", lambda: calls.append("limit") or True)
    # The collector's pause too comes before the server, and is ended however the command ends.
    monkeypatch.setattr(nexus.startup_gc, "pause", lambda: calls.append("pause"))
    monkeypatch.setattr(nexus.startup_gc, "resume", lambda: calls.append("resume"))
    monkeypatch.setattr(nexus.desktop.app, "run_desktop", lambda *a: calls.append("window") or 0)
    monkeypatch.setattr(nexus.host.headless, "serve", lambda *a: calls.append("serve") or 0)
    assert main(argv) == 0
    assert calls == ["limit", "pause", "serve" if argv == ["serve"] else "window", "resume"]


def test_the_transcript_writer_gives_pages_back_after_it_saved_and_evicted(monkeypatch: pytest.MonkeyPatch) -> None:
    import nexus.chat.writer as writer_module
    from nexus.chat.hub import ChatHub

    calls: list[str] = []
    hub = ChatHub(lambda sid: (_ for _ in ()).throw(KeyError(sid)))
    monkeypatch.setattr(hub, "evict_idle", lambda *a: calls.append("evict"))
    monkeypatch.setattr(writer_module, "return_free_memory", lambda: calls.append("trim") or True)
    writer = writer_module.TranscriptWriter(hub, repo=None)  # type: ignore[arg-type]  # no stream to save
    writer._round()
    assert calls == ["evict", "trim"]
