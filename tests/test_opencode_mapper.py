"""OpenCode's recorded wire format through the mapper: what the UI would receive."""

from __future__ import annotations

import json
from pathlib import Path

from nexus.chat.engines.opencode_mapper import OpenCodeMapper

DATA = Path(__file__).parent / "data" / "opencode_events.jsonl"


def recorded(section: str) -> list[dict]:
    lines = [json.loads(l) for l in DATA.read_text().splitlines() if l.startswith("{")]
    return [l["payload"] for l in lines if l["section"] == section]


def run(section: str) -> list[tuple[str, str, dict]]:
    mapper = OpenCodeMapper()
    out = []
    for payload in recorded(section):
        out += mapper.on_event(payload)
    return out


def test_plain_reply() -> None:
    events = run("A")
    types = [t for _, t, _ in events]
    assert types.count("message.start") == 2  # the user's message and the reply
    assert types.count("message.end") == 2
    user_text = next(d["part"]["text"] for _, t, d in events if t == "part.update")
    assert user_text == "hi there"
    started = [d["part"]["text"] for _, t, d in events if t == "part.update"][-1]
    deltas = "".join(d["delta"] for _, t, d in events if t == "text.delta")
    # The closing full update repeats what the deltas built, so it is not sent again.
    assert started + deltas == "Hello from fake LLM. You said: hi there"
    statuses = [d["status"] for _, t, d in events if t == "session.status"]
    assert statuses == ["busy", "idle"], "repeated busy reports are folded"
    usage = [d for _, t, d in events if t == "usage"][-1]
    assert usage["tokens"]["input"] > 0 and usage["tokens"]["output"] > 0


def test_tool_call_with_permission() -> None:
    events = run("B")
    types = [t for _, t, _ in events]
    tool = [(t, d["part"]["status"]) for _, t, d in events if t.startswith("tool.")]
    assert tool[0] == ("tool.start", "pending")
    assert tool[-1] == ("tool.end", "completed")
    assert ("tool.update", "running") in tool
    asked = next(d["permission"] for _, t, d in events if t == "permission.asked")
    assert asked["tool"] == "bash" and asked["title"] == "echo hello-from-bash && ls"
    assert asked["call_id"] and asked["message_id"]
    statuses = [d["status"] for _, t, d in events if t == "session.status"]
    assert statuses == ["busy", "waiting", "busy", "idle"]
    assert types.index("permission.asked") < types.index("permission.answered")
    end = [d["part"] for _, t, d in events if t == "tool.end"][0]
    assert end["output"] == "hello-from-bash\nREADME.md\n" and end["metadata"]["exit"] == 0
    # OpenCode's stand-in title is not passed on; the generated one is.
    assert [d["session"]["title"] for _, t, d in events if t == "session.updated"] == ["Let me run that."]


def test_abort_and_retry() -> None:
    events = run("C")
    end = next(d for _, t, d in events if t == "message.end")
    assert end["error"] == {"name": "aborted", "message": "Stopped."}
    errors = [d for _, t, d in events if t == "error"]
    assert [e["code"] for e in errors] == ["UnknownError"], "an abort is not an error; a bad model is"
    assert errors[0]["message"].startswith("Model not found: nope/nope")
    retries = [d for _, t, d in events if t == "session.status" and d["status"] == "retry"]
    assert [r["attempt"] for r in retries] == [1, 2, 3, 4, 5]
    assert retries[0]["message"] == "fake failure" and retries[0]["next_at"] > 1.7e9


def test_reconcile_reports_only_what_changed() -> None:
    mapper = OpenCodeMapper()
    info = {"id": "msg_1", "role": "assistant", "time": {"created": 1000, "completed": 2000}, "finish": "stop",
            "tokens": {"input": 5, "output": 3, "cache": {"read": 0, "write": 0}}, "cost": 0.01,
            "providerID": "p", "modelID": "m"}
    part = {"id": "prt_1", "type": "text", "text": "full answer", "messageID": "msg_1"}
    state = {"messages": [{"id": "msg_1", "completed_at": None, "tokens": None, "cost": None,
                           "parts": [{"id": "prt_1", "kind": "text", "text": "full ans", "message_id": "msg_1"}]}],
             "permissions": [{"id": "per_stale"}], "status": {"status": "busy"}, "session": {"title": "t"}}
    mapper.seed("ses", state)
    out = mapper.reconcile("ses", [{"info": info, "parts": [part]}], None, [])
    types = [t for _, t, _ in out]
    assert types == ["usage", "part.update", "message.end", "permission.answered", "session.status"]
    assert out[1][2]["part"]["text"] == "full answer"
    assert mapper.reconcile("ses", [{"info": info, "parts": [part]}], None, []) == [], "a second pass is quiet"


def test_reconcile_keeps_streamed_text_opencode_has_not_saved_yet() -> None:
    mapper = OpenCodeMapper()
    mapper.seed("ses", {"messages": [{"id": "msg_1", "completed_at": None, "parts": [
        {"id": "prt_1", "kind": "text", "text": "word0 word1 word2 ", "message_id": "msg_1"}]}]})
    info = {"id": "msg_1", "role": "assistant", "time": {"created": 1000}}
    unsaved = {"id": "prt_1", "type": "text", "text": "", "time": {"start": 1000, "end": 1500}, "messageID": "msg_1"}
    assert not [d for _, t, d in mapper.reconcile("ses", [{"info": info, "parts": [unsaved]}], None, [])
                if t == "part.update"]
    finished = {**unsaved, "text": "word0 word1 word2 word3", "time": {"start": 1000, "end": 2000}}
    out = mapper.reconcile("ses", [{"info": info, "parts": [finished]}], None, [])
    assert [d["part"]["text"] for _, t, d in out if t == "part.update"] == ["word0 word1 word2 word3"]
