"""The hub's promise: numbered events, replay of what a client missed, a snapshot when it
missed too much, and no gap or duplicate either way."""

from __future__ import annotations

import threading

from nexus.chat.hub import REPLAY_BUFFER, ChatHub
from nexus.chat.transcript import Transcript
from tests.wait_helpers import wait_until


def make_hub() -> ChatHub:
    return ChatHub(lambda sid: (Transcript({"id": sid, "title": "t", "status": "idle"}), 0))


def drain(client) -> list:
    out = []
    while (event := client.get(timeout=0)) is not None:
        out.append(event)
    return out


def say(hub: ChatHub, sid: str, n: int, start: int = 0) -> None:
    hub.emit(sid, "message.start", {"message": {"id": "m1", "role": "assistant"}}) if start == 0 else None
    for i in range(start, start + n):
        hub.emit(sid, "text.delta", {"message_id": "m1", "part_id": "p1", "delta": f"{i} "})


def test_new_client_gets_a_snapshot_then_live_events() -> None:
    hub = make_hub()
    say(hub, "s", 3)
    client = hub.client()
    client.follow("s", None, None)
    [snapshot] = drain(client)
    assert snapshot.type == "snapshot" and snapshot.seq == 4
    assert snapshot.data["messages"][0]["parts"][0]["text"] == "0 1 2 "
    say(hub, "s", 2, start=3)
    assert [e.seq for e in drain(client)] == [5, 6]


def test_reconnect_replays_exactly_the_missed_events() -> None:
    hub = make_hub()
    say(hub, "s", 10)
    client = hub.client()
    client.follow("s", 6, hub.epoch)
    assert [e.seq for e in drain(client)] == [7, 8, 9, 10, 11]
    up_to_date = hub.client()
    up_to_date.follow("s", 11, hub.epoch)
    assert drain(up_to_date) == []


def test_too_far_behind_or_another_epoch_or_ahead_gets_a_snapshot() -> None:
    hub = make_hub()
    say(hub, "s", REPLAY_BUFFER + 10)
    for after, epoch in ((1, hub.epoch), (50, "older-run"), (10**9, hub.epoch)):
        client = hub.client()
        client.follow("s", after, epoch)
        [event] = drain(client)
        assert event.type == "snapshot"
        text = event.data["messages"][0]["parts"][0]["text"]
        assert text.split() == [str(i) for i in range(REPLAY_BUFFER + 10)]


def test_concurrent_emitters_and_followers_see_one_order_without_gaps() -> None:
    hub = make_hub()
    say(hub, "s", 1)
    clients = []

    def emitter(k: int) -> None:
        for _ in range(300):
            hub.emit("s", "text.delta", {"message_id": "m1", "part_id": f"p{k}", "delta": "x"})

    def follower() -> None:
        client = hub.client()
        client.follow("s", 2, hub.epoch)
        clients.append(client)

    threads = [threading.Thread(target=emitter, args=(k,)) for k in range(3)]
    threads += [threading.Thread(target=follower) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = hub.stream("s").seq
    for client in clients:
        events = drain(client)
        seqs = [e.seq for e in events if e.type != "snapshot"]
        start = events[0].seq + 1 if events and events[0].type == "snapshot" else 3
        assert seqs == list(range(start, final + 1))


def test_a_client_too_slow_is_cut_off_not_silently_skipped() -> None:
    hub = make_hub()
    from nexus.chat.hub import ClientStream

    slow = ClientStream(hub, maxsize=5)
    slow.follow("s", None, None)
    say(hub, "s", 10)
    assert slow.overflowed, "it must reconnect with its last number instead of missing events"


def _stored_session(rt) -> str:
    import uuid

    sid = f"s_{uuid.uuid4().hex[:20]}"
    rt.chat.repo.create_session({"id": sid, "engine": "opencode", "engine_ref": f"ses_{sid}", "title": "evict"})
    return sid


def _reply(rt, sid: str, text: str, message_id: str = "m1") -> None:
    rt.chat.emit(sid, "message.start", {"message": {"id": message_id, "role": "assistant"}})
    rt.chat.emit(sid, "part.update", {"message_id": message_id, "part": {"id": f"p_{message_id}", "kind": "text",
                                                                           "text": ""}})
    for word in text.split():
        rt.chat.emit(sid, "text.delta", {"message_id": message_id, "part_id": f"p_{message_id}", "delta": word + " "})
    rt.chat.emit(sid, "message.end", {"message_id": message_id, "finish": "stop", "completed_at": 1.0})


def test_an_unwatched_idle_session_is_evicted_and_reloaded_with_its_numbers(runtime) -> None:
    chat = runtime.chat
    sid = _stored_session(runtime)
    _reply(runtime, sid, "kept across eviction")
    last = chat.hub.existing(sid).seq
    watcher = chat.hub.client()
    watcher.follow(sid, None, None)
    chat.writer.flush(sid)
    assert chat.hub.evict_idle(idle_for=0) == [], "a watched session stays"
    watcher.close()
    chat.emit(sid, "session.status", {"status": "busy"})
    chat.writer.flush(sid)
    assert chat.hub.evict_idle(idle_for=0) == [], "a busy session stays"
    chat.emit(sid, "session.status", {"status": "idle"})
    chat.emit(sid, "text.delta", {"message_id": "m1", "part_id": "p_m1", "delta": "unsaved"})
    assert chat.hub.evict_idle(idle_for=0) == [], "what is not saved yet stays"
    chat.writer.flush(sid)
    last = chat.hub.existing(sid).seq
    assert chat.hub.evict_idle(idle_for=0) == [sid]
    assert chat.hub.existing(sid) is None

    returning = chat.hub.client()
    returning.follow(sid, last, chat.hub.epoch)
    assert drain(returning) == [], "same numbers after the reload: nothing missed, no snapshot"
    chat.emit(sid, "session.updated", {"session": {"title": "again"}})
    [event] = drain(returning)
    assert event.seq == last + 1
    text = chat.transcript_state(sid)["messages"][-1]["parts"][0]["text"]
    assert text == "kept across eviction unsaved"
    returning.close()


def test_the_writer_evicts_sessions_nobody_watches(runtime, monkeypatch) -> None:

    from nexus.chat import hub

    monkeypatch.setattr(hub, "EVICT_AFTER", 0.2)
    runtime.start()
    sids = [_stored_session(runtime) for _ in range(3)]
    for sid in sids:
        _reply(runtime, sid, "a short reply", message_id=f"m_{sid}")  # message ids are global
    watcher = runtime.chat.hub.client()
    watcher.follow(sids[0], None, None)
    wait_until(lambda: all(runtime.chat.hub.existing(s) is None for s in sids[1:]), 15,
               "unwatched sessions evicted by the writer's rounds")
    assert runtime.chat.hub.existing(sids[0]) is not None, "the watched one stays"
    watcher.close()
    reloaded = runtime.chat.hub.stream(sids[1]).snapshot_event().data["messages"]
    assert [m["parts"][0]["text"] for m in reloaded] == ["a short reply "], "reloaded on demand"


def test_replay_buffers_are_bounded() -> None:
    hub_ = make_hub()
    say(hub_, "s", REPLAY_BUFFER * 2)
    assert len(hub_.existing("s")._buffer) == REPLAY_BUFFER
