"""A range of local calendar days in an IANA time zone, as UNIX-time boundaries.

The boundaries are computed here with zoneinfo rather than in SQL: SQLite knows no time
zones, and a local day is not always 86,400 s long (daylight saving time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from nexus.errors import ServiceError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

MAX_DAYS = 400


class AnalyticsRangeError(ServiceError, ValueError):
    """A range or time zone that cannot be used; the message says what to send instead."""

    status, code = 400, "bad_parameter"


@dataclass(frozen=True)
class LocalDays:
    """The days [start, end) in `zone`; `edges` holds len(days) + 1 UNIX times (local midnights)."""

    start: date
    end: date
    zone: str
    edges: tuple[float, ...]

    @classmethod
    def parse(cls, start: str | None, end: str | None, zone: str | None) -> LocalDays:
        tz = _zone(zone or "UTC")
        first, stop = _day(start, "start"), _day(end, "end")
        if stop <= first:
            raise AnalyticsRangeError("end must be after start (the range is [start, end), end not included).")
        count = (stop - first).days
        if count > MAX_DAYS:
            raise AnalyticsRangeError(f"The range may span at most {MAX_DAYS} days; this one has {count}.")
        edges = tuple(datetime.combine(first + timedelta(days=i), datetime.min.time(), tz).timestamp()
                      for i in range(count + 1))
        return cls(first, stop, tz.key, edges)

    @property
    def days(self) -> list[str]:
        return [(self.start + timedelta(days=i)).isoformat() for i in range(len(self.edges) - 1)]

    @property
    def begin(self) -> float:
        return self.edges[0]

    @property
    def finish(self) -> float:
        return self.edges[-1]


def _zone(name: str) -> ZoneInfo:
    if len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise AnalyticsRangeError(f"Unknown time zone {name[:64]!r}; send an IANA name like Europe/Berlin.")
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # when analytics are asked for, not at start

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise AnalyticsRangeError(f"Unknown time zone {name!r}; send an IANA name like Europe/Berlin.") from None


def _day(raw: str | None, name: str) -> date:
    if not raw:
        raise AnalyticsRangeError(f"Give {name} as a date, YYYY-MM-DD.")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise AnalyticsRangeError(f"{name} must be a date like 2026-01-31, not {raw[:40]!r}.") from None
