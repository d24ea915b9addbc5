"""Usage analytics: the numbers equal what was put into a real store (SQLite and PostgreSQL), per local day."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from nexus.analytics import AnalyticsRangeError, LocalDays
from tests.analytics_data import BERLIN, BERLIN_SESSIONS_PER_DAY, UTC_SESSIONS_PER_DAY, insert_known_usage

DATABASES = ("sqlite", "postgres")


@pytest.fixture
def known(runtime, client):
    insert_known_usage(runtime.chat.repo)
    return client


def report(client, start: str, end: str, tz: str | None):
    query = f"/api/analytics?start={start}&end={end}" + (f"&tz={tz}" if tz else "")
    response = client.get(query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_numbers_equal_what_was_stored_in_berlin(known) -> None:
    data = report(known, "2026-11-10", "2026-11-12", "Europe/Berlin")
    summary = data["summary"]
    assert summary["cost"] == pytest.approx(BERLIN["cost"])
    assert summary["tool_failure_rate"] == pytest.approx(BERLIN["tool_failure_rate"])
    assert {k: v for k, v in summary.items() if k not in ("cost", "tool_failure_rate")} == \
        {k: v for k, v in BERLIN.items() if k not in ("cost", "tool_failure_rate")}
    assert [d["day"] for d in data["per_day"]] == ["2026-11-10", "2026-11-11"]
    assert [d["sessions"] for d in data["per_day"]] == BERLIN_SESSIONS_PER_DAY
    assert [d["messages"] for d in data["per_day"]] == [2, 5]
    assert [d["cost"] for d in data["per_day"]] == pytest.approx([0.01, 0.05])
    assert data["tokens_by_model"] == [
        {"model": "fake/m-a", "messages": 2, "cost": pytest.approx(0.04),
         "tokens": {"input": 400, "output": 70, "reasoning": 5, "cache_read": 10, "cache_write": 3}},
        {"model": "fake/m-b", "messages": 1, "cost": pytest.approx(0.02),
         "tokens": {"input": 200, "output": 80, "reasoning": 0, "cache_read": 0, "cache_write": 0}}]
    assert data["tools"] == [
        {"tool": "bash", "calls": 2, "completed": 1, "failed": 1, "failure_rate": 0.5},
        {"tool": "read", "calls": 2, "completed": 1, "failed": 0, "failure_rate": 0.0}]
    assert data["outcomes"] == {"finished": 1, "aborted": 1, "errored": 0, "running": 0, "no reply": 1,
                                "archived": 0, "deleted": 1}


def test_the_same_days_in_utc_move_the_late_session_to_the_first_day(known) -> None:
    data = report(known, "2026-11-10", "2026-11-12", "UTC")
    assert [d["sessions"] for d in data["per_day"]] == UTC_SESSIONS_PER_DAY
    assert [d["messages"] for d in data["per_day"]] == [4, 3]
    assert data["summary"]["sessions"] == 4


def test_one_berlin_day_leaves_out_the_utc_evening(known) -> None:
    data = report(known, "2026-11-10", "2026-11-11", "Europe/Berlin")
    assert data["summary"]["sessions"] == 1
    assert data["summary"]["messages"] == 2
    assert data["summary"]["tokens"]["input"] == 100
    assert data["summary"]["median_first_token_seconds"] == 2.0


def test_an_empty_range_gives_zeros(known) -> None:
    data = report(known, "2026-01-01", "2026-01-03", "Asia/Tokyo")
    assert data["summary"]["sessions"] == 0 and data["summary"]["messages"] == 0
    assert data["summary"]["cost"] == 0 and data["summary"]["tool_failure_rate"] == 0
    assert data["summary"]["median_first_token_seconds"] is None
    assert data["tokens_by_model"] == [] and data["tools"] == []
    assert set(data["outcomes"].values()) == {0}
    assert [d["sessions"] for d in data["per_day"]] == [0, 0]


def test_default_time_zone_is_utc(known) -> None:
    assert report(known, "2026-11-10", "2026-11-12", None)["range"]["tz"] == "UTC"


@pytest.mark.parametrize("query, words", [
    ("start=2026-11-10&end=2026-11-10&tz=UTC", "end must be after start"),
    ("start=2026-11-12&end=2026-11-10", "end must be after start"),
    ("start=yesterday&end=2026-11-10", "start must be a date"),
    ("end=2026-11-10", "Give start"),
    ("start=2026-11-10&end=2026-11-12&tz=Mars/Olympus", "Unknown time zone"),
    ("start=2026-11-10&end=2026-11-12&tz=../../etc/passwd", "Unknown time zone"),
    ("start=2020-01-01&end=2026-01-01", "at most 400 days"),
])
def test_bad_ranges_are_clear_400s(client, query: str, words: str) -> None:
    response = client.get(f"/api/analytics?{query}")
    assert response.status_code == 400
    assert words in response.get_json()["error"]["message"]


def test_local_days_follow_daylight_saving_time() -> None:
    days = LocalDays.parse("2026-10-31", "2026-11-03", "America/New_York")  # DST ends on 1 November
    assert [b - a for a, b in itertools.pairwise(days.edges)] == [86400, 90000, 86400]
    assert days.start == date(2026, 10, 31)
    with pytest.raises(AnalyticsRangeError):
        LocalDays.parse("x", "y", "UTC")


@pytest.mark.parametrize("zone, first, last", [("Asia/Kathmandu", "2026-11-10", "2026-11-12"),  # UTC+5:45
                                               ("America/New_York", "2026-10-31", "2026-11-03")])  # DST ends
def test_sessions_one_second_either_side_of_local_midnight(runtime, client, zone: str, first: str,
                                                           last: str) -> None:
    days = LocalDays.parse(first, last, zone)
    repo = runtime.chat.repo
    for i, edge in enumerate(days.edges[1:-1]):
        for name, at in ((f"before{i}", edge - 1), (f"at{i}", edge)):
            repo.create_session({"id": name, "engine": "opencode", "engine_ref": name, "created_at": at,
                                 "updated_at": at})
    per_day = report(client, first, last, zone)["per_day"]
    inner = len(days.edges) - 2
    assert [d["sessions"] for d in per_day] == [1] + [2] * (inner - 1) + [1]
