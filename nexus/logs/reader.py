"""Reading the JSON-lines log from its end, however large it is.

The log is `nexus.jsonl` plus its rotated copies `nexus.jsonl.1` (newest) ... `.N` (oldest).
Lines are read backwards in fixed-size blocks, so asking for the last 200 lines of a 1 GB
file touches a few blocks, never the whole file. Each line is identified by the file's
inode and the byte offset where the line starts (`"<inode>:<offset>"`): that names the same
line before and after a rotation renames its file, which lets the page merge lines from
the REST answer and the live stream without gaps or doubles. A cursor for paging back is
the same kind of position.

Lines that are not complete JSON objects (a partial last line being written, a corrupt
line) are skipped, never an error. A filter that matches nothing cannot make one request
scan the whole log: each read stops after `max_scan_bytes` and hands back a cursor.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SOURCES = ("nexus", "opencode", "cloudflared")
BLOCK_BYTES = 64 * 1024
MAX_SCAN_BYTES = 32 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024  # longer "lines" are corrupt (a lost newline): skipped
# Characters json.dumps escapes: a search for them cannot be matched on the raw line bytes.
_JSON_ESCAPED = set('"\\') | {chr(c) for c in range(32)}


class CursorGone(LookupError):
    """The file a cursor points into was rotated away (deleted) since the cursor was made."""


@dataclass(frozen=True)
class LogFilter:
    levels: frozenset[str] = frozenset()  # empty: every level
    sources: frozenset[str] = frozenset()  # empty: every source
    text: str = ""  # case-insensitive; empty: everything

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", self.text.strip().lower())

    @property
    def raw_needle(self) -> bytes | None:
        """The search text as it appears in the raw line, when that is a safe pre-check."""
        if not self.text or _JSON_ESCAPED & set(self.text):
            return None
        return self.text.encode("utf-8")

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.levels and entry.get("level") not in self.levels:
            return False
        if self.sources and entry.get("source") not in self.sources:
            return False
        if self.text:
            haystack = " ".join(str(entry.get(k, "")) for k in ("message", "logger", "exception"))
            if "fields" in entry:
                haystack += " " + json.dumps(entry["fields"], ensure_ascii=False, default=str)
            if self.text not in haystack.lower():
                return False
        return True


def log_files(path: Path) -> list[Path]:
    """The log's files, newest first: the current one, then `.1`, `.2`, ... while they exist."""
    files = [path] if path.exists() else []
    index = 1
    while True:
        backup = path.with_name(f"{path.name}.{index}")
        if not backup.exists():
            return files
        files.append(backup)
        index += 1


def parse_line(raw: bytes, line_id: str) -> dict[str, Any] | None:
    """One log line as a dict with its id, or None for a partial or corrupt line."""
    try:
        entry = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("message"), str):
        return None
    entry["id"] = line_id
    return entry


def lines_backwards(fh: Any, end: int, block: int = BLOCK_BYTES) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of every complete line that ends before `end`, last first.

    `end` is the file size or the start of a line. Text after the last newline before `end`
    is a line still being written, and a line longer than MAX_LINE_BYTES is corrupt: neither
    is yielded, and neither is ever held in memory whole."""
    pos = end
    carry = b""  # the start of a line whose beginning lies in an earlier block
    dropping = True  # discarding up to the next newline (going backwards)
    while pos > 0:
        size = min(block, pos)
        pos -= size
        fh.seek(pos)
        chunk = fh.read(size) + carry
        pieces = chunk.split(b"\n")
        carry, rest = pieces[0], pieces[1:]
        if dropping:
            if not rest:
                carry = b""
                continue
            rest.pop()
            dropping = False
        offset = pos + len(carry) + 1
        starts = []
        for piece in rest:
            starts.append(offset)
            offset += len(piece) + 1
        for start, piece in zip(reversed(starts), reversed(rest), strict=True):
            yield start, piece
        if len(carry) > MAX_LINE_BYTES:
            carry, dropping = b"", True
    if carry and not dropping:
        yield 0, carry


@dataclass
class Page:
    lines: list[dict[str, Any]]  # oldest first
    cursor: str | None  # where to continue backwards; None: the start of the log was reached
    scanned_bytes: int


class LogReader:
    """Reads pages of matching lines from the end of the log (and its rotated files)."""

    def __init__(self, path: Path, *, block: int = BLOCK_BYTES, max_scan_bytes: int = MAX_SCAN_BYTES) -> None:
        self.path = path
        self.block = block
        self.max_scan_bytes = max_scan_bytes

    def files(self) -> list[Path]:
        return log_files(self.path)

    def _locate(self, cursor: str | None) -> tuple[list[Path], int, int]:
        """(files newest first, index of the file to read, offset to read back from)."""
        files = self.files()
        if cursor is None:
            return files, 0, -1
        inode, offset = parse_cursor(cursor)
        for index, file in enumerate(files):
            try:
                if file.stat().st_ino == inode:
                    return files, index, offset
            except FileNotFoundError:
                continue
        raise CursorGone(cursor)

    def read(self, limit: int = 200, filters: LogFilter = LogFilter(), cursor: str | None = None) -> Page:
        """The last `limit` matching lines before `cursor` (or before the end)."""
        files, index, offset = self._locate(cursor)
        found: list[dict[str, Any]] = []
        scanned = 0
        needle = filters.raw_needle
        while index < len(files):
            try:
                fh = open(files[index], "rb")  # noqa: SIM115 - closed by the `with fh` below, after the except
            except FileNotFoundError:  # rotated away between listing and opening
                index += 1
                offset = -1
                continue
            with fh:
                stat = os.fstat(fh.fileno())
                inode = stat.st_ino
                end = stat.st_size if offset < 0 else min(offset, stat.st_size)
                for start, raw in lines_backwards(fh, end, self.block):
                    scanned += len(raw) + 1
                    if needle is None or needle in raw.lower():
                        entry = parse_line(raw, f"{inode}:{start}")
                        if entry is not None and filters.matches(entry):
                            found.append(entry)
                    if len(found) >= limit or scanned >= self.max_scan_bytes:
                        found.reverse()
                        more = start > 0 or index + 1 < len(files)
                        return Page(found, f"{inode}:{start}" if more else None, scanned)
            index += 1
            offset = -1
        found.reverse()
        return Page(found, None, scanned)

    def iter_forward(self, filters: LogFilter | None = None) -> Iterator[tuple[bytes, dict[str, Any] | None]]:
        """Every line of every file, oldest first: (raw line, parsed entry or None when corrupt).
        With `filters`, only matching parsed lines. Read line by line, each at most
        MAX_LINE_BYTES (a longer one is corrupt and skipped): nothing big is held in memory."""
        needle = filters.raw_needle if filters is not None else None
        for file in reversed(self.files()):
            try:
                fh = open(file, "rb")  # noqa: SIM115 - closed by the `with fh` below, after the except
            except FileNotFoundError:
                continue
            with fh:
                inode = os.fstat(fh.fileno()).st_ino
                offset = 0
                skipping = False  # inside an over-long line, until its newline
                while raw := fh.readline(MAX_LINE_BYTES + 1):
                    start, offset = offset, offset + len(raw)
                    if not raw.endswith(b"\n"):
                        if len(raw) <= MAX_LINE_BYTES:
                            break  # the last line, still being written: not complete yet
                        skipping = True
                        continue
                    if skipping:
                        skipping = False
                        continue
                    line = raw.rstrip(b"\r\n")
                    if not line or (needle is not None and needle not in line.lower()):
                        continue
                    entry = parse_line(line, f"{inode}:{start}")
                    if filters is not None and (entry is None or not filters.matches(entry)):
                        continue
                    yield line, entry


def parse_cursor(cursor: str) -> tuple[int, int]:
    """'<inode>:<offset>' -> (inode, offset); ValueError when it is not one."""
    inode_text, _, offset_text = cursor.partition(":")
    inode, offset = int(inode_text), int(offset_text)
    if inode < 0 or offset < 0:
        raise ValueError(cursor)
    return inode, offset
