"""Recorded OpenCode events (a to-do list, then a write that overwrites a file) through the
mapper: the to-do event, each turn's diff part, a write's real diff; undo state and removed
messages from payloads in OpenCode's own shape."""

from __future__ import annotations

import json
from pathlib import Path

from nexus.chat.engines.opencode_mapper import OpenCodeMapper

DATA = Path(__file__).parent / "data" / "opencode_parity_b_events.jsonl"


def replay() -> tuple[OpenCodeMapper, list[tuple[str, str, dict]]]:
    mapper = OpenCodeMapper()
    out = []
    for line in DATA.read_text().splitlines():
        if line.startswith("{"):
            out += mapper.on_event(json.loads(line))
    return mapper, out


def test_todo_list_becomes_one_normalized_event() -> None:
    _, events = replay()
    todos = [d["todos"] for _, t, d in events if t == "todo.updated"]
    assert todos == [[{"content": "Write tests", "status": "completed", "priority": "medium"},
                      {"content": "Fix bug", "status": "in_progress", "priority": "medium"},
                      {"content": "Ship it", "status": "pending", "priority": "medium"}]]


def test_the_turn_diff_is_a_part_of_the_user_message_and_the_write_gets_the_real_diff() -> None:
    _, events = replay()
    diffs = [d for _, t, d in events if t == "part.update" and d["part"]["kind"] == "diff"]
    assert len(diffs) == 1, "sent once, though OpenCode repeats the message"
    [changed] = diffs[0]["part"]["files"]
    assert changed["file"] == "notes.txt" and changed["additions"] == 2 and changed["deletions"] == 2
    assert diffs[0]["part"]["id"] == f"{diffs[0]['message_id']}-diff"
    writes = [d["part"] for _, t, d in events if t == "tool.end" and d["part"]["tool"] == "write"]
    assert "diff" not in writes[0]["metadata"], "OpenCode's own write reports no diff"
    real = writes[-1]["metadata"]["diff"].splitlines()
    assert "-beta" in real and "+BETA" in real


def test_revert_state_follows_session_updates_and_removed_messages_are_forgotten() -> None:
    mapper = OpenCodeMapper()
    info = {"id": "ses_1", "title": "t", "time": {"created": 1, "updated": 2},
            "revert": {"messageID": "msg_2", "snapshot": "abc", "diff": "diff --git a/n b/n"}}
    out = mapper.on_event({"type": "session.updated", "properties": {"sessionID": "ses_1", "info": info}})
    assert ("ses_1", "session.updated", {"session": {"revert": {"message_id": "msg_2",
                                                                 "diff": "diff --git a/n b/n"}}}) in out
    again = mapper.on_event({"type": "session.updated", "properties": {"sessionID": "ses_1", "info": info}})
    assert not [e for e in again if "revert" in e[2].get("session", {})], "unchanged: nothing sent"
    cleared = {k: v for k, v in info.items() if k != "revert"}
    out = mapper.on_event({"type": "session.updated", "properties": {"sessionID": "ses_1", "info": cleared}})
    assert out == [("ses_1", "session.updated", {"session": {"revert": None}})]
    mapper.on_event({"type": "message.updated", "properties": {"sessionID": "ses_1", "info": {
        "id": "msg_2", "role": "user", "sessionID": "ses_1", "time": {"created": 5}}}})
    out = mapper.on_event({"type": "message.removed", "properties": {"sessionID": "ses_1", "messageID": "msg_2"}})
    assert out == [("ses_1", "message.removed", {"message_id": "msg_2"})]
    again = mapper.on_event({"type": "message.updated", "properties": {"sessionID": "ses_1", "info": {
        "id": "msg_2", "role": "user", "sessionID": "ses_1", "time": {"created": 5}}}})
    assert [t for _, t, _ in again] == ["message.start", "message.end"], "a removed message is new again"
