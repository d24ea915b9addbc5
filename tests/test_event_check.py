"""Chat events are checked against their declared payloads (nexus/chat/events.py PAYLOADS) as
they enter the hub: a malformed or unknown one fails in strict mode (the test suite's) and is
delivered and logged once per type otherwise."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from nexus.chat import events as ev
from nexus.chat.engines.opencode_mapper import OpenCodeMapper
from nexus.chat.event_check import STRICT_ENV, EventCheck, EventError, problem_of
from nexus.chat.hub import ChatHub
from nexus.chat.transcript import Transcript

DATA = Path(__file__).parent / "data"


def make_hub() -> ChatHub:
    return ChatHub(lambda sid: (Transcript({"id": sid, "title": "t", "status": "idle"}), 0))


def test_every_type_has_a_declared_payload() -> None:
    assert set(ev.PAYLOADS) == ev.EVENT_TYPES


def test_every_event_of_the_shared_transcript_cases_validates() -> None:
    cases = json.loads((DATA / "transcript_cases.json").read_text())["cases"]
    events = [(case["name"], e) for case in cases for e in case["events"]]
    assert len(events) > 20
    problems = [(name, e["type"], problem_of(e["type"], e["data"])) for name, e in events]
    assert [p for p in problems if p[2] is not None] == []


def test_every_event_the_mapper_makes_of_recorded_opencode_streams_validates() -> None:
    mapper, parity = OpenCodeMapper(), OpenCodeMapper()
    emitted = []
    for line in (DATA / "opencode_events.jsonl").read_text().splitlines():
        if line.startswith("{"):
            emitted += mapper.on_event(json.loads(line)["payload"])
    for line in (DATA / "opencode_parity_b_events.jsonl").read_text().splitlines():
        if line.startswith("{"):
            emitted += parity.on_event(json.loads(line))
    assert len({t for _, t, _ in emitted}) >= 10, "the recordings cover most event types"
    assert [(t, problem_of(t, d)) for _, t, d in emitted if problem_of(t, d) is not None] == []


@pytest.mark.parametrize(("type_", "data", "where"), [
    ("text.delta", {"message_id": "m1", "part_id": "p1"}, "delta"),
    ("text.delta", {"message_id": "m1", "part_id": "p1", "delta": 7}, "delta"),
    ("reasoning.delta", ["m1", "p1", "x"], "data"),
    ("part.update", {"message_id": "m1", "part": {"id": "p1"}}, "part.kind"),
    ("session.status", {"status": "sleeping"}, "status"),
    ("message.end", {"finish": "stop"}, "message_id"),
    ("permission.answered", {"permission_id": "x", "reply": "maybe"}, "reply"),
    ("usage", {"message_id": "m1", "tokens": {"input": "many"}, "cost": 0.1}, "tokens.input"),
])
def test_a_malformed_payload_is_named_where_it_is_wrong(type_, data, where) -> None:
    problem = problem_of(type_, data)
    assert problem is not None and problem.startswith(where), problem
    with pytest.raises(EventError, match=type_):
        EventCheck(strict=True)(type_, data)


def test_the_delta_fast_path_accepts_only_what_pydantic_accepts() -> None:
    good = {"message_id": "m1", "part_id": "p1", "delta": "hi"}
    for data in (good, {**good, "delta": ""}, {**good, "extra": 1}):
        EventCheck(strict=True)("text.delta", data)
        assert problem_of("text.delta", data) is None
    for data in ({**good, "part_id": None}, {**good, "message_id": 1}, {"delta": "x"}, "text"):
        with pytest.raises(EventError):
            EventCheck(strict=True)("reasoning.delta", data)


def test_in_strict_mode_a_malformed_event_fails_at_its_emit_and_is_not_delivered() -> None:
    assert __import__("os").environ.get(STRICT_ENV) == "1", "tests/conftest.py sets strict mode"
    hub = make_hub()
    client = hub.client()
    client.follow("s", None, None)
    [snapshot] = client.drain()
    with pytest.raises(EventError, match="part_id"):
        hub.emit("s", "text.delta", {"message_id": "m1", "delta": "x"})
    with pytest.raises(EventError, match=r"unknown event type 'text\.deltas'"):
        hub.emit("s", "text.deltas", {"message_id": "m1", "part_id": "p1", "delta": "x"})
    hub.emit("s", "text.delta", {"message_id": "m1", "part_id": "p1", "delta": "ok"})
    assert [(e.type, e.seq) for e in client.drain()] == [("text.delta", snapshot.seq + 1)], "no number was used up"


def test_otherwise_a_malformed_event_is_delivered_and_logged_once_per_type(monkeypatch, caplog) -> None:
    monkeypatch.setenv(STRICT_ENV, "0")
    hub = make_hub()
    client = hub.client()
    client.follow("s", None, None)
    client.drain()
    with caplog.at_level(logging.WARNING, logger="nexus.chat.event_check"):
        hub.emit("s", "message.start", {"message": {"id": "m1", "role": "assistant"}})
        hub.emit("s", "text.delta", {"message_id": "m1", "part_id": 1, "delta": "a"})
        hub.emit("s", "text.delta", {"message_id": "m1", "part_id": None, "delta": "b"})
        hub.emit("s", "brand.new", {"anything": True})
        hub.emit("s", "brand.new", {"anything": False})
    delivered = client.drain()
    assert [e.type for e in delivered] == ["message.start", "text.delta", "text.delta", "brand.new", "brand.new"]
    assert delivered[1].data == {"message_id": "m1", "part_id": 1, "delta": "a"}, "delivered as emitted"
    warnings = [r.getMessage() for r in caplog.records if r.name == "nexus.chat.event_check"]
    assert len(warnings) == 2, warnings
    assert "text.delta" in warnings[0] and "part_id" in warnings[0]
    assert "brand.new" in warnings[1] and "unknown event type" in warnings[1]
