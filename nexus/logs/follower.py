"""Following the log as it grows, and publishing new lines on the bus (`logs.lines`).

One owner, one named thread (`nexus-log-follower`, a PeriodicWorker polling every 0.2 s),
started and stopped by the Runtime. The file is opened, read and closed on every round:
holding it open would stop the log handler from renaming it on Windows when it rotates.

- Rotation: when the file at the path has another inode, the rest of the old file is read
  from its new name (found by inode among the rotated files), then the new one from 0.
- Truncation: a file shorter than the position read so far is read again from 0.
- A line still being written (no newline yet) waits for the next round.

Lines are published as parsed entries (with their `"<inode>:<offset>"` ids, the same ids
the reader gives), unfiltered: every stream client applies its own filter.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from nexus.background import PeriodicWorker
from nexus.bus import EventBus
from nexus.logs.reader import MAX_LINE_BYTES, log_files, parse_line

log = logging.getLogger(__name__)

TOPIC = "logs.lines"
POLL_SECONDS = 0.2
MAX_READ_BYTES = 4 * 1024 * 1024  # per round, so a burst of writes cannot balloon memory


class LogFollower:
    def __init__(self, path: Path, bus: EventBus, interval: float = POLL_SECONDS) -> None:
        self.path = path
        self._bus = bus
        self._inode: int | None = None
        self._position = 0  # start of the first byte not yet published
        self._worker = PeriodicWorker("nexus-log-follower", interval, self.poll, what="following the log")

    def start(self) -> None:
        self._skip_to_end()
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    @property
    def running(self) -> bool:
        return self._worker.running

    def position(self) -> str | None:
        """Where following continues, as a line id (`"<inode>:<offset>"`)."""
        return None if self._inode is None else f"{self._inode}:{self._position}"

    def _skip_to_end(self) -> None:
        """Start after the last complete line: older lines are the reader's business."""
        try:
            with open(self.path, "rb") as fh:
                stat = os.fstat(fh.fileno())
                fh.seek(max(0, stat.st_size - MAX_LINE_BYTES))
                tail = fh.read()
        except FileNotFoundError:
            self._inode, self._position = None, 0
            return
        self._inode = stat.st_ino
        self._position = stat.st_size - len(tail) + tail.rfind(b"\n") + 1 if b"\n" in tail else stat.st_size - len(tail)

    def poll(self) -> int:
        """One round: publish the complete lines written since the last one. Returns how many."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return 0
        entries: list[dict[str, Any]] = []
        if self._inode is not None and stat.st_ino != self._inode:
            self._read_rotated(entries)
            self._inode, self._position = stat.st_ino, 0
        elif self._inode is None:
            self._inode, self._position = stat.st_ino, 0
        if stat.st_size < self._position:
            log.info("the log file was truncated; following it from its start")
            self._position = 0
        if stat.st_size > self._position:
            self._read_new(self.path, self._inode, entries, final=False)
        if entries:
            self._bus.publish(TOPIC, lines=entries)
        return len(entries)

    def _read_rotated(self, out: list[dict[str, Any]]) -> None:
        """The rest of the file being followed, now renamed, and then every file rotated
        after it (several rotations can happen between two rounds), oldest first."""
        rotated = log_files(self.path)[1:]
        inodes: list[int | None] = []
        for file in rotated:
            try:
                inodes.append(file.stat().st_ino)
            except FileNotFoundError:
                inodes.append(None)
        if self._inode is None or self._inode not in inodes:
            return  # never opened, or deleted already (retention): what it still held is gone
        index = inodes.index(self._inode)
        self._read_new(rotated[index], self._inode, out, final=True)
        for file, inode in zip(reversed(rotated[:index]), reversed(inodes[:index]), strict=True):
            if inode is not None:
                self._read_new(file, inode, out, final=True)

    def _read_new(self, path: Path, inode: int, out: list[dict[str, Any]], *, final: bool) -> None:
        try:
            with open(path, "rb") as fh:
                if os.fstat(fh.fileno()).st_ino != inode:
                    return  # rotated again between stat and open: the next round sees it
                fh.seek(self._position)
                data = fh.read(MAX_READ_BYTES)
        except FileNotFoundError:
            return
        complete = data.rfind(b"\n") + 1
        if complete == 0 and len(data) >= MAX_READ_BYTES:
            complete = len(data)  # no newline in a whole read: corrupt, skip past it
        offset = self._position
        for raw in data[:complete].split(b"\n")[:-1] if complete else []:
            entry = parse_line(raw, f"{inode}:{offset}")
            if entry is not None:
                out.append(entry)
            offset += len(raw) + 1
        self._position += complete
        if final:
            self._position = 0
