"""The log reader and follower on real files: backwards block reads, filters, cursor paging
(across rotated files), following through rotation and truncation, corrupt lines."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import pytest

from nexus.bus import EventBus
from nexus.logs.follower import TOPIC, LogFollower
from nexus.logs.reader import CursorGone, LogFilter, LogReader, lines_backwards, log_files
from nexus.logs.setup import RetainingFileHandler, prune_rotated
from tests.wait_helpers import wait_until


def entry(i: int, level: str = "INFO", source: str = "nexus", message: str | None = None) -> str:
    return json.dumps({"ts": 1_700_000_000 + i, "time": "2023-11-14T22:13:20.000Z", "level": level,
                       "source": source, "logger": "nexus.test", "message": message or f"line {i}"}) + "\n"


def write(path: Path, lines: list[str], mode: str = "w") -> None:
    with open(path, mode, encoding="utf-8") as fh:
        fh.writelines(lines)


def messages(page) -> list[str]:
    return [e["message"] for e in page.lines]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "nexus.jsonl"


# ----- reading backwards ------------------------------------------------------------------------

@pytest.mark.parametrize("block", [7, 64, 100, 4096])
def test_lines_backwards_yields_every_complete_line_with_its_offset_across_block_boundaries(
        log_path: Path, block: int) -> None:
    lines = [f"{'x' * (i % 13)}-{i}\n" for i in range(300)]
    write(log_path, [*lines, "half a line being writ"])
    data = log_path.read_bytes()
    with open(log_path, "rb") as fh:
        got = list(lines_backwards(fh, len(data), block))
    assert [raw.decode() + "\n" for _, raw in got] == list(reversed(lines))
    for offset, raw in got:  # every offset is where its line starts
        assert data[offset:offset + len(raw)] == raw and (offset == 0 or data[offset - 1:offset] == b"\n")


def test_last_lines_of_a_large_file_read_only_a_few_blocks(log_path: Path) -> None:
    write(log_path, [entry(i) for i in range(50_000)])  # ~7 MB
    page = LogReader(log_path).read(200)
    assert messages(page) == [f"line {i}" for i in range(49_800, 50_000)]
    assert page.scanned_bytes < 64 * 1024  # 200 lines, not the file
    assert page.cursor is not None


def test_filters_by_level_source_and_text(log_path: Path) -> None:
    write(log_path, [entry(0, "INFO", "nexus", "Server started"), entry(1, "ERROR", "opencode", "boom: disk full"),
                     entry(2, "WARNING", "cloudflared", "retrying"), entry(3, "ERROR", "nexus", "Boom again"),
                     entry(4, "DEBUG", "nexus", 'quote " and \\ backslash')])
    reader = LogReader(log_path)
    assert messages(reader.read(10, LogFilter(levels=frozenset({"ERROR"})))) == ["boom: disk full", "Boom again"]
    assert messages(reader.read(10, LogFilter(sources=frozenset({"opencode", "cloudflared"})))) == [
        "boom: disk full", "retrying"]
    assert messages(reader.read(10, LogFilter(text="BOOM"))) == ["boom: disk full", "Boom again"]
    assert messages(reader.read(10, LogFilter(levels=frozenset({"ERROR"}), sources=frozenset({"nexus"}),
                                              text="boom"))) == ["Boom again"]
    assert messages(reader.read(10, LogFilter(text='quote "'))) == ['quote " and \\ backslash']
    assert messages(reader.read(10, LogFilter(text="nothing like this"))) == []


def test_cursor_pages_back_through_rotated_files_to_the_start(log_path: Path) -> None:
    write(log_path.with_name("nexus.jsonl.2"), [entry(i) for i in range(0, 40)])
    write(log_path.with_name("nexus.jsonl.1"), [entry(i) for i in range(40, 90)])
    write(log_path, [entry(i) for i in range(90, 130)])
    reader = LogReader(log_path, block=256)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = reader.read(17, cursor=cursor)
        seen = messages(page) + seen
        cursor = page.cursor
        pages += 1
        if cursor is None:
            break
        assert pages < 20
    assert seen == [f"line {i}" for i in range(130)]


def test_cursor_still_names_the_same_line_after_a_rotation_and_is_refused_once_deleted(log_path: Path) -> None:
    write(log_path, [entry(i) for i in range(100)])
    reader = LogReader(log_path)
    first = reader.read(10)
    os.rename(log_path, log_path.with_name("nexus.jsonl.1"))  # what the handler does on rotation
    write(log_path, [entry(i) for i in range(100, 110)])
    assert messages(reader.read(5, cursor=first.cursor)) == [f"line {i}" for i in range(85, 90)]
    log_path.with_name("nexus.jsonl.1").unlink()
    with pytest.raises(CursorGone):
        reader.read(5, cursor=first.cursor)


def test_corrupt_partial_and_oversized_lines_are_skipped(log_path: Path) -> None:
    write(log_path, [entry(0), "not json at all\n", "{\"level\": \"INFO\"}\n", "[1, 2]\n", "\n",
                     "x" * (1024 * 1024 + 10) + "\n", entry(1), "\x00\xff garbage\n", entry(2), '{"ts": 1, "mess'])
    reader = LogReader(log_path, block=4096)
    assert messages(reader.read(50)) == ["line 0", "line 1", "line 2"]
    forward = [e["message"] for _, e in reader.iter_forward(LogFilter())]
    assert forward == ["line 0", "line 1", "line 2"]


def test_a_filter_matching_nothing_stops_after_the_scan_budget_with_a_cursor(log_path: Path) -> None:
    write(log_path, [entry(i) for i in range(20_000)])
    reader = LogReader(log_path, max_scan_bytes=256 * 1024)
    page = reader.read(10, LogFilter(text="no such text"))
    assert page.lines == [] and page.cursor is not None
    assert 256 * 1024 <= page.scanned_bytes < 300 * 1024
    # and the cursor carries on from there, to the start eventually
    rounds = 0
    while page.cursor is not None:
        page = reader.read(10, LogFilter(text="no such text"), cursor=page.cursor)
        rounds += 1
    assert 5 <= rounds <= 20


def test_ids_from_the_reader_and_the_follower_are_the_same(log_path: Path) -> None:
    write(log_path, [entry(0)])
    bus = EventBus()
    follower = LogFollower(log_path, bus)
    follower._skip_to_end()
    with bus.subscribe([TOPIC]) as sub:
        write(log_path, [entry(1), entry(2)], "a")
        assert follower.poll() == 2
        streamed = [e["id"] for e in sub.get(timeout=1).data["lines"]]
    assert streamed == [e["id"] for e in LogReader(log_path).read(2).lines]


# ----- following ---------------------------------------------------------------------------------

def collect(sub) -> list[str]:
    out: list[str] = []
    while (event := sub.get(timeout=0)) is not None:
        out += [e["message"] for e in event.data["lines"]]
    return out


def test_follower_publishes_new_complete_lines_only(log_path: Path) -> None:
    write(log_path, [entry(0), '{"partial'])
    bus = EventBus()
    follower = LogFollower(log_path, bus)
    follower._skip_to_end()
    with bus.subscribe([TOPIC]) as sub:
        assert follower.poll() == 0
        with open(log_path, "a") as fh:  # finishes the partial line as a corrupt one, then a good one
            fh.write('": 1}\n' + entry(1) + entry(2)[:20])
        follower.poll()
        assert collect(sub) == ["line 1"]
        with open(log_path, "a") as fh:
            fh.write(entry(2)[20:])
        follower.poll()
        assert collect(sub) == ["line 2"]


def test_follower_reads_the_rest_of_a_rotated_file_then_the_new_one(log_path: Path) -> None:
    write(log_path, [entry(0)])
    bus = EventBus()
    follower = LogFollower(log_path, bus)
    follower._skip_to_end()
    with bus.subscribe([TOPIC]) as sub:
        write(log_path, [entry(1)], "a")
        os.rename(log_path, log_path.with_name("nexus.jsonl.1"))  # rotated before the follower looked
        write(log_path, [entry(2), entry(3)])
        follower.poll()
        assert collect(sub) == ["line 1", "line 2", "line 3"]


def test_follower_starts_over_after_truncation(log_path: Path) -> None:
    write(log_path, [entry(i) for i in range(20)])
    bus = EventBus()
    follower = LogFollower(log_path, bus)
    follower._skip_to_end()
    with bus.subscribe([TOPIC]) as sub:
        write(log_path, [entry(100)])  # same file, shorter: truncated and rewritten
        follower.poll()
        assert collect(sub) == ["line 100"]


def test_follower_follows_the_real_rotating_handler_in_its_own_thread(log_path: Path) -> None:
    bus = EventBus()
    handler = RetainingFileHandler(log_path, max_bytes=2000, backup_count=50, retention_days=0)
    from nexus.logs.setup import JsonLineFormatter

    handler.setFormatter(JsonLineFormatter())
    logger = logging.getLogger("nexus.test.follow")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    follower = LogFollower(log_path, bus, interval=0.05)
    threads_before = {t.name for t in threading.enumerate()}
    try:
        with bus.subscribe([TOPIC], maxsize=10_000) as sub:
            follower.start()
            assert "nexus-log-follower" in {t.name for t in threading.enumerate()} - threads_before
            got: list[str] = []

            def published(message: str) -> bool:
                while (event := sub.get(timeout=0.05)) is not None:
                    got.extend(e["message"] for e in event.data["lines"])
                return message in got

            for i in range(300):
                logger.info("message %d", i)
                if i % 25 == 0:  # the follower reads between rotations too, not only after all of them
                    wait_until(lambda i=i: published(f"message {i}"), 10, f"the follower to publish message {i}")
            wait_until(lambda: published("message 299"), 10, "the follower to publish every line")
            assert len(log_files(log_path)) > 5  # it did rotate, many times
            assert got == [f"message {i}" for i in range(300)]
    finally:
        follower.stop()
        logger.removeHandler(handler)
        handler.close()
    assert not follower.running
    assert "nexus-log-follower" not in {t.name for t in threading.enumerate()}


# ----- retention ---------------------------------------------------------------------------------

def test_prune_keeps_no_more_than_backup_count_and_nothing_older_than_retention(log_path: Path) -> None:
    write(log_path, [entry(0)])
    now = time.time()
    for index in range(1, 7):
        backup = log_path.with_name(f"nexus.jsonl.{index}")
        write(backup, [entry(index)])
        os.utime(backup, (now - index * 86400 + 3600, now - index * 86400 + 3600))  # .N is N-1 days and 23 h old
    removed = prune_rotated(log_path, backup_count=5, retention_days=3)
    assert sorted(p.name for p in removed) == ["nexus.jsonl.4", "nexus.jsonl.5", "nexus.jsonl.6"]
    assert [p.name for p in log_files(log_path)] == ["nexus.jsonl", "nexus.jsonl.1", "nexus.jsonl.2", "nexus.jsonl.3"]
    assert prune_rotated(log_path, backup_count=2, retention_days=0) == [log_path.with_name("nexus.jsonl.3")]


def test_retention_setting_applies_without_a_restart(runtime) -> None:
    log_file = runtime.paths.log_file
    old = log_file.with_name("nexus.jsonl.1")
    write(old, [entry(0)])
    os.utime(old, (time.time() - 10 * 86400,) * 2)
    runtime.settings.update({"logs.retention_days": 30})
    assert old.exists()
    runtime.settings.update({"logs.retention_days": 7})
    assert not old.exists()


def test_a_smaller_rotation_size_applies_without_a_restart(runtime) -> None:
    runtime.settings.update({"logs.max_bytes": 64 * 1024})
    log = logging.getLogger("nexus.test.rotation")
    for i in range(800):
        log.warning("filling the log, line %d of 800 %s", i, "x" * 100)
    files = log_files(runtime.paths.log_file)
    assert len(files) >= 2 and all(f.stat().st_size <= 64 * 1024 for f in files)
    assert LogReader(runtime.paths.log_file).read(1).lines[0]["message"].startswith("filling the log, line 799 ")


def test_the_runtime_owns_the_follower_and_stops_it(runtime) -> None:
    with runtime.bus.subscribe([TOPIC]) as sub:
        runtime.start()
        assert runtime.log_follower.running
        logging.getLogger("nexus.test.owner").warning("seen by the follower")
        deadline = time.monotonic() + 5
        got: list[str] = []
        while "seen by the follower" not in got and time.monotonic() < deadline:
            event = sub.get(timeout=0.5)
            got += [e["message"] for e in event.data["lines"]] if event else []
        assert "seen by the follower" in got
        runtime.stop()
    assert not runtime.log_follower.running
    assert "nexus-log-follower" not in {t.name for t in threading.enumerate()}
