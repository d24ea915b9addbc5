"""A long session does not grow Nexus's memory without bound (issue 13, the chaos soak's RSS
slope): beyond the newest `KEEP_PARTS_OF` messages, or beyond `KEEP_TEXT_BYTES` of their
text, finished and saved messages let go of their parts in the transcript and in the
OpenCode mapper; what a page is drawn with never holds a released message; and a reconcile
after OpenCode restarts neither announces those parts again nor reorders the transcript."""

from __future__ import annotations

from typing import Any

from nexus.chat.engines.opencode_mapper import OpenCodeMapper
from nexus.chat.hub import SNAPSHOT_MESSAGES
from nexus.chat.transcript import KEEP_AT_LEAST, KEEP_MESSAGES, KEEP_PARTS_OF, KEEP_TEXT_BYTES, Transcript

REF = "ses_long"
REPLIES = 150


def _info(n: int, role: str) -> dict[str, Any]:
    created = 1_000_000 + n * 10
    return {"id": f"msg_{n:05d}", "sessionID": REF, "role": role, "time": {"created": created, "completed": created + 5},
            "finish": "stop" if role == "assistant" else None, "providerID": "fake", "modelID": "fake-model",
            "tokens": {"input": 3, "output": 4, "cache": {"read": 0, "write": 0}}, "cost": 0.0}


def _part(n: int, text: str) -> dict[str, Any]:
    return {"id": f"prt_{n:05d}", "type": "text", "text": text, "messageID": f"msg_{n:05d}", "sessionID": REF}


def _text(n: int) -> str:
    return f"reply {n} " + "word " * 400  # a couple of kB each, like the bench's replies


def _converse(engine: str, text: Any = None) -> tuple[OpenCodeMapper, Transcript, list[dict[str, Any]]]:
    """REPLIES exchanges streamed through the mapper into a transcript, each saved (dirty
    marks cleared, as the writer does) before the next; and OpenCode's own copy of them."""
    mapper, transcript = OpenCodeMapper(), Transcript({"id": "s1", "engine": engine, "status": "idle"})
    opencode: list[dict[str, Any]] = []
    for i in range(REPLIES):
        for n, role, words in ((2 * i, "user", f"question {i}"), (2 * i + 1, "assistant", (text or _text)(2 * i + 1))):
            info, part = _info(n, role), _part(n, words)
            emitted = mapper.message(REF, {**info, "time": {"created": info["time"]["created"]}})
            emitted += mapper.part(REF, info["id"], {**part, "text": ""})
            emitted += mapper.on_event({"type": "message.part.delta", "properties": {
                "sessionID": REF, "messageID": info["id"], "partID": part["id"], "field": "text", "delta": words}})
            emitted += mapper.message(REF, info)
            for _, type_, data in emitted:
                transcript.apply(type_, data)
            transcript.dirty_messages.clear()
            transcript.dirty_parts.clear()
            opencode.append({"info": info, "parts": [part]})
    return mapper, transcript, opencode


def _held(transcript: Transcript) -> list[dict[str, Any]]:
    return [m for m in transcript.messages.values() if m["parts"]]


def test_a_long_opencode_session_keeps_the_parts_of_its_newest_messages_only() -> None:
    mapper, transcript, _ = _converse("opencode")
    assert len(_held(transcript)) == KEEP_PARTS_OF
    assert [m["id"] for m in _held(transcript)] == list(transcript.messages)[-KEEP_PARTS_OF:]
    memory = mapper._sessions[REF]
    assert len(memory.parts) == KEEP_PARTS_OF and len(memory.owners) == KEEP_PARTS_OF
    # What a page is drawn with is whole: the snapshot's messages all have their text.
    assert SNAPSHOT_MESSAGES <= KEEP_PARTS_OF
    snapshot = transcript.snapshot(SNAPSHOT_MESSAGES)
    last = 2 * REPLIES - 1
    assert snapshot["messages"][-1]["parts"][0]["text"] == _text(last)
    assert all(m["parts"] for m in snapshot["messages"])


def test_a_long_opencode_session_keeps_the_fields_of_its_newest_messages_only() -> None:
    mapper, transcript, _ = _converse("opencode")
    newest = [f"msg_{n:05d}" for n in range(2 * REPLIES - KEEP_MESSAGES, 2 * REPLIES)]
    assert list(transcript.messages) == newest
    assert transcript.horizon == f"msg_{2 * REPLIES - KEEP_MESSAGES - 1:05d}" and transcript.has_more
    assert not transcript.released - set(newest), "a forgotten message is still counted as released"
    memory = mapper._sessions[REF]
    assert list(memory.messages) == newest and memory.horizon == transcript.horizon
    assert set(memory.parents) <= set(newest) and set(memory.diffs) <= set(newest)
    # The session's totals still count every reply, the forgotten ones too.
    assert transcript.session["tokens"]["input"] == 3 * REPLIES and transcript.session["tokens"]["output"] == 4 * REPLIES


def test_an_event_about_a_forgotten_message_is_not_drawn_as_new() -> None:
    mapper, transcript, opencode = _converse("opencode")
    oldest = opencode[0]
    # A late update of the first reply's message and part (OpenCode rewrites a summary, say).
    emitted = mapper.message(REF, oldest["info"]) + mapper.part(REF, oldest["info"]["id"], oldest["parts"][0])
    emitted += mapper.on_event({"type": "message.part.delta", "properties": {
        "sessionID": REF, "messageID": oldest["info"]["id"], "partID": oldest["parts"][0]["id"],
        "field": "text", "delta": "late"}})
    assert emitted == []
    before = list(transcript.messages)
    transcript.apply("part.update", {"message_id": oldest["info"]["id"], "part": {"id": "prt_x", "kind": "text", "text": "x"}})
    transcript.apply("message.start", {"message": {"id": oldest["info"]["id"], "role": "user", "created_at": 1.0}})
    assert list(transcript.messages) == before and not transcript.dirty_messages and not transcript.dirty_parts
    # Undo that reaches past the window still deletes the old message from the store.
    transcript.apply("message.removed", {"message_id": oldest["info"]["id"]})
    assert transcript.removed_messages == {oldest["info"]["id"]}


def test_a_long_session_loaded_from_the_store_lets_go_at_once() -> None:
    stored = [{"id": f"msg_{n:05d}", "role": "assistant", "created_at": n, "completed_at": n + 1,
               "parts": [{"id": f"prt_{n:05d}", "kind": "text", "text": _text(n)}]} for n in range(2 * REPLIES)]
    loaded = Transcript({"id": "s1", "engine": "opencode", "status": "idle"}, stored, has_more=True)
    assert list(loaded.messages) == [m["id"] for m in stored[-KEEP_MESSAGES:]]
    assert [m["id"] for m in _held(loaded)] == [m["id"] for m in stored[-KEEP_PARTS_OF:]]
    assert loaded.horizon == stored[-KEEP_MESSAGES - 1]["id"]


def test_an_unsaved_message_keeps_its_parts() -> None:
    _, transcript, _ = _converse("opencode")
    oldest_held = _held(transcript)[0]["id"]
    transcript.dirty_messages.add(oldest_held)  # the writer has not saved it yet
    transcript.apply("message.start", {"message": {"id": "msg_new", "role": "user", "created_at": 9e9}})
    transcript.apply("message.end", {"message_id": "msg_new", "completed_at": 9e9})
    assert transcript.messages[oldest_held]["parts"], "released before it was saved"


def test_an_anthropic_session_keeps_every_part() -> None:
    _, transcript, _ = _converse("anthropic")  # it resends the whole conversation with each prompt
    assert len(_held(transcript)) == 2 * REPLIES
    assert not transcript.released


def test_a_reconcile_does_not_announce_released_parts_again() -> None:
    mapper, transcript, opencode = _converse("opencode")
    order = list(transcript.messages)
    # OpenCode restarted: the engine seeds the mapper with Nexus's state and reconciles with
    # everything OpenCode has (ChatService.transcript_state carries the released ids).
    restarted = OpenCodeMapper()
    restarted.seed(REF, transcript.state())
    emitted = restarted.reconcile(REF, opencode, None, [])
    changed = [(t, d) for _, t, d in emitted if t not in ("session.status",)]
    assert changed == [], f"re-announced: {changed[:3]}"
    # The same with the mapper that streamed them (no restart, only a reconnect).
    mapper.seed(REF, transcript.state())
    emitted = mapper.reconcile(REF, opencode, None, [])
    for _, type_, data in emitted:
        transcript.apply(type_, data)
    assert [t for _, t, _ in emitted if t != "session.status"] == []
    assert list(transcript.messages) == order
    assert len(_held(transcript)) == KEEP_PARTS_OF


def _wordy(n: int) -> str:
    return f"reply {n} " + "x" * 40_000  # a long answer: 40 kB of text


def test_wordy_replies_are_held_up_to_the_text_budget() -> None:
    mapper, transcript, _ = _converse("opencode", _wordy)
    held = _held(transcript)
    text = sum(len(p["text"]) for m in held for p in m["parts"])
    assert KEEP_AT_LEAST <= len(held) < KEEP_PARTS_OF
    assert text <= KEEP_TEXT_BYTES + len(_wordy(0)), "more than the budget (plus the one that crossed it)"
    assert [m["id"] for m in held] == list(transcript.messages)[-len(held):], "the newest are the ones held"
    memory = mapper._sessions[REF]
    assert sorted({memory.owners[p] for p in memory.parts}) == sorted(m["id"] for m in held)
    # The page is drawn with held messages only; the rest comes from the store on scroll.
    snapshot = transcript.snapshot(SNAPSHOT_MESSAGES)
    assert [m["id"] for m in snapshot["messages"]] == [m["id"] for m in held]
    assert snapshot["has_more"] is True
    assert snapshot["messages"][-1]["parts"][0]["text"] == _wordy(2 * REPLIES - 1)


def test_the_newest_messages_are_held_whatever_their_size() -> None:
    _, transcript, _ = _converse("opencode", lambda n: "y" * (KEEP_TEXT_BYTES * 2))
    assert [m["id"] for m in _held(transcript)] == list(transcript.messages)[-KEEP_AT_LEAST:]


def test_a_live_session_past_its_budget_loses_nothing_between_snapshot_and_store(make_runtime: Any) -> None:
    """What the page is drawn with (the snapshot) and what it loads on scroll (the store,
    before the snapshot's oldest message) are together the whole conversation, in order."""
    rt = make_runtime()
    sid = "s_budget_test_0000001"
    rt.chat.repo.create_session({"id": sid, "engine": "opencode", "engine_ref": "ses_budget", "title": "Wordy",
                                 "agent": "build", "model": "fake/fake-model", "directory": None,
                                 "state": "active", "status": "idle"})
    ids = []
    for n in range(30):
        mid, pid = f"msg_{n:04d}", f"prt_{n:04d}"
        ids.append(mid)
        rt.chat.hub.emit(sid, "message.start", {"message": {"id": mid, "role": "assistant", "created_at": 1000.0 + n}})
        rt.chat.hub.emit(sid, "part.update", {"message_id": mid, "part": {"id": pid, "kind": "text", "text": ""}})
        rt.chat.hub.emit(sid, "text.delta", {"message_id": mid, "part_id": pid, "delta": _wordy(n)})
        rt.chat.hub.emit(sid, "message.end", {"message_id": mid, "finish": "stop", "completed_at": 1000.5 + n})
        rt.chat.writer.flush(sid)
    stream = rt.chat.hub.stream(sid)
    assert stream.transcript.released, "30 replies of 40 kB are past the budget"
    snapshot = stream.snapshot_event().data
    shown = [m["id"] for m in snapshot["messages"]]
    assert snapshot["has_more"] and all(m["parts"] for m in snapshot["messages"])
    older = rt.chat.messages(sid, before=shown[0], limit=100)["messages"]
    assert [m["id"] for m in older] + shown == ids
    assert all(m["parts"][0]["text"] == _wordy(int(m["id"][4:])) for m in older)


def test_a_session_past_its_message_window_keeps_its_totals_and_its_history(make_runtime: Any,
                                                                            monkeypatch: Any) -> None:
    """Past KEEP_MESSAGES the oldest messages live only in the store: the session's token
    totals still count them, the page's history still has every one, and reading the newest
    page loads them from the store once."""
    rt = make_runtime()
    sid = "s_window_test_0000001"
    rt.chat.repo.create_session({"id": sid, "engine": "opencode", "engine_ref": "ses_window", "title": "Long",
                                 "agent": "build", "model": "fake/fake-model", "directory": None,
                                 "state": "active", "status": "idle"})
    count = KEEP_MESSAGES + 30
    ids = []
    for n in range(count):
        mid, pid = f"msg_{n:04d}", f"prt_{n:04d}"
        ids.append(mid)
        rt.chat.hub.emit(sid, "message.start", {"message": {"id": mid, "role": "assistant", "created_at": 1000.0 + n}})
        rt.chat.hub.emit(sid, "text.delta", {"message_id": mid, "part_id": pid, "delta": f"reply {n}"})
        rt.chat.hub.emit(sid, "usage", {"message_id": mid, "tokens": {"input": 2, "output": 5}, "cost": 0.5})
        rt.chat.hub.emit(sid, "message.end", {"message_id": mid, "finish": "stop", "completed_at": 1000.5 + n})
        rt.chat.writer.flush(sid)
    transcript = rt.chat.hub.stream(sid).transcript
    assert list(transcript.messages) == ids[-KEEP_MESSAGES:] and transcript.horizon == ids[-KEEP_MESSAGES - 1]
    stored = rt.chat.repo.get_session(sid)
    assert (stored["tokens"]["input"], stored["tokens"]["output"], stored["cost"]) == (2 * count, 5 * count, 0.5 * count)
    loads: list[Any] = []
    load = rt.chat.repo.load_messages
    monkeypatch.setattr(rt.chat.repo, "load_messages", lambda *a, **k: loads.append(k) or load(*a, **k))
    newest = rt.chat.messages(sid, limit=50)
    assert len(loads) == 1, "the newest page was read from the store more than once"
    older = rt.chat.messages(sid, before=newest["messages"][0]["id"], limit=500)["messages"]
    assert [m["id"] for m in older + newest["messages"]] == ids
    assert [m["parts"][0]["text"] for m in older[:2]] == ["reply 0", "reply 1"]
