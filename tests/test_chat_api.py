"""Chat over HTTP as a browser or script sees it: REST, the WebSocket stream with replay,
the SSE fallback, several clients in step. Real OpenCode, real sockets."""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from nexus import websocket_client
from tests.chat_helpers import wait_for_opencode
from tests.wait_helpers import wait_until

pytestmark = pytest.mark.opencode
DATABASES = ("sqlite", "postgres")


@pytest.fixture
def live_chat(database_url: str, opencode_settings: dict, no_leftover_processes, make_runtime, serve_runtime):
    rt = make_runtime(opencode_settings, **{"server.autostart": True})
    server = serve_runtime(rt)
    rt.start()
    wait_for_opencode(rt)
    with httpx2.Client(base_url=server.url, timeout=10, trust_env=False) as http:
        yield server, rt, http


class WsReader:
    def follow(self, session: str, after: int | None = None, epoch: str | None = None) -> None:
        self.ws.send(json.dumps({"op": "follow", "session": session, "after": after, "epoch": epoch or self.epoch}))

    def __init__(self, url: str) -> None:
        self.ws = websocket_client.connect(url.replace("http://", "ws://") + "/api/chat/stream")
        self.pending: list[dict[str, Any]] = []
        hello = self.next(5)
        assert hello is not None and hello["type"] == "hello"
        self.epoch = hello["epoch"]

    def next(self, timeout: float) -> dict[str, Any] | None:
        """One message; frames holding an array of queued events are unpacked in order."""
        if not self.pending:
            raw = self.ws.receive(timeout=timeout)
            if raw is None:
                return None
            data = json.loads(raw)
            self.pending = data if isinstance(data, list) else [data]
        return self.pending.pop(0)

    def until(self, check: Callable[[dict[str, Any]], bool], timeout: float = 30) -> list[dict[str, Any]]:
        out = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.next(0.5)
            if message is None:
                continue
            out.append(message)
            if check(message):
                return out
        raise AssertionError(f"timed out; got {[m['type'] for m in out][-10:]}")

    def close(self) -> None:
        self.ws.close()


def reply_done(message: dict[str, Any]) -> bool:
    return message["type"] == "message.end" and message["data"].get("finish") == "stop"


def assert_contiguous(messages: list[dict[str, Any]]) -> None:
    """Each message starts right after the one before: no gap, no duplicate. A merged delta
    covers `from_seq`..`seq`."""
    for before, after in itertools.pairwise(messages):
        assert after.get("from_seq", after["seq"]) == before["seq"] + 1, (before, after)
        assert after["seq"] >= after.get("from_seq", after["seq"])


def expanded(messages: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(seq, type) of every event the messages cover, merged deltas counted one by one:
    clients may be sent different merges of the same events."""
    return [(seq, m["type"]) for m in messages for seq in range(m.get("from_seq", m["seq"]), m["seq"] + 1)]


def deltas(messages: list[dict[str, Any]]) -> str:
    return "".join(m["data"]["delta"] for m in messages if m["type"] == "text.delta")


def test_session_lifecycle_over_rest_and_websocket(live_chat) -> None:
    server, rt, http = live_chat
    res = http.post("/api/sessions", json={"title": "  Fix   the build  "})
    assert res.status_code == 201
    session = res.json()
    assert session["title"] == "Fix the build" and session["status"] == "idle"
    sid = session["id"]

    reader = WsReader(server.url)
    try:
        reader.follow(sid)
        first = reader.until(lambda m: True)
        assert first[0]["type"] == "snapshot" and first[0]["data"]["messages"] == []
        assert http.post(f"/api/sessions/{sid}/prompt", json={"text": "hello there"}).status_code == 202
        streamed = reader.until(reply_done)
        assert deltas(streamed) == "Hello from fake LLM. You said: hello there"
        assert all(m["session"] == sid for m in streamed)
    finally:
        reader.close()

    listed = http.get("/api/sessions").json()
    assert [s["id"] for s in listed["sessions"]] == [sid] and listed["total"] == 1
    history = http.get(f"/api/sessions/{sid}/messages").json()
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]

    assert http.patch(f"/api/sessions/{sid}", json={"title": "Renamed"}).json()["title"] == "Renamed"
    assert http.get("/api/search", params={"q": "hello"}).json()["results"][0]["session_id"] == sid

    export = http.get(f"/api/sessions/{sid}/export")
    assert "attachment" in export.headers["content-disposition"]
    body = export.json()
    assert body["format"] == "nexus.session.v1" and len(body["messages"]) == 2
    markdown = http.get(f"/api/sessions/{sid}/export", params={"format": "md"}).text
    assert markdown.startswith("# Renamed") and "Hello from fake LLM. You said: hello there" in markdown

    assert http.patch(f"/api/sessions/{sid}", json={"state": "archived"}).json()["state"] == "archived"
    assert http.get("/api/sessions").json()["total"] == 0
    assert http.get("/api/sessions", params={"state": "archived"}).json()["total"] == 1
    assert http.delete(f"/api/sessions/{sid}").status_code == 204
    assert http.get(f"/api/sessions/{sid}").status_code == 404
    assert http.post(f"/api/sessions/{sid}/restore").json()["id"] == sid
    # Sending to an archived session reopens it.
    assert http.post(f"/api/sessions/{sid}/prompt", json={"text": "back again"}).status_code == 202
    assert http.get(f"/api/sessions/{sid}").json()["state"] == "active"


def _last_word(messages: list[dict[str, Any]]) -> int:
    """The highest whole `word<i> ` the SLOW reply's deltas in `messages` reached (-1: none
    yet). Read across deltas: OpenCode may split a word over two, and the relay merges many."""
    return max((int(n) for n in re.findall(r"word(\d+) ", deltas(messages))), default=-1)


def reaches_word(n: int) -> Callable[[dict[str, Any]], bool]:
    """For WsReader.until: the deltas read so far hold `word<n> ` (or a later word)."""
    read: list[dict[str, Any]] = []

    def check(message: dict[str, Any]) -> bool:
        if message["type"] == "text.delta":
            read.append(message)
        return _last_word(read) >= n

    return check


def test_reconnect_gets_exactly_what_was_missed(live_chat) -> None:
    server, rt, http = live_chat
    sid = http.post("/api/sessions", json={"title": "flaky phone"}).json()["id"]
    first, watcher = WsReader(server.url), WsReader(server.url)
    for reader in (first, watcher):
        reader.follow(sid)
        reader.until(lambda m: m["type"] == "snapshot")
    http.post(f"/api/sessions/{sid}/prompt", json={"text": "SLOW"})
    seen = first.until(reaches_word(4))
    last_seq, left_at = seen[-1]["seq"], _last_word(seen)
    first.close()  # the connection drops mid-stream
    # More events happen while it is away: a client that stayed sees five more words.
    away = watcher.until(reaches_word(min(left_at + 5, 199)), 60)
    target = min(_last_word(away) + 1, 199)

    again = WsReader(server.url)
    try:
        assert again.epoch == first.epoch
        again.follow(sid, after=last_seq)
        resumed = again.until(reaches_word(target), 60)
        assert resumed[0].get("from_seq", resumed[0]["seq"]) == last_seq + 1, "the very next event, no gap"
        assert_contiguous(resumed)
        text = deltas(seen) + deltas(resumed)
        words = text[:text.rfind(" ") + 1].split()  # whole words: the last delta may end mid-word
        assert words == [f"word{i}" for i in range(len(words))], "the text reads on without a hole"
        assert len(words) > target, "it reached past what happened while it was away"
    finally:
        http.post(f"/api/sessions/{sid}/abort")
        again.close()
        watcher.close()


def test_two_clients_stay_in_step_and_sse_fallback_matches(live_chat) -> None:
    server, rt, http = live_chat
    sid = http.post("/api/sessions", json={"title": "shared"}).json()["id"]
    a, b = WsReader(server.url), WsReader(server.url)
    try:
        for reader in (a, b):
            reader.follow(sid)
            reader.until(lambda m: m["type"] == "snapshot")
        with httpx2.stream("GET", f"{server.url}/api/chat/stream/sse", params={"follow": f"{sid}::"},
                           timeout=30, trust_env=False) as sse:
            http.post(f"/api/sessions/{sid}/prompt", json={"text": "to everyone"})
            got_a, got_b = a.until(reply_done), b.until(reply_done)
            assert expanded(got_a) == expanded(got_b) and deltas(got_a) == deltas(got_b)
            sse_messages = []
            for line in sse.iter_lines():
                if line.startswith("data: "):
                    message = json.loads(line[6:])
                    sse_messages.append(message)
                    if reply_done(message):
                        break
        assert sse_messages[0]["type"] == "hello" and sse_messages[1]["type"] == "snapshot"
        assert expanded(sse_messages[2:]) == expanded(got_a) and deltas(sse_messages) == deltas(got_a)
    finally:
        a.close()
        b.close()


def test_permission_answered_over_rest(live_chat) -> None:
    server, rt, http = live_chat
    sid = http.post("/api/sessions", json={"title": "tools"}).json()["id"]
    reader = WsReader(server.url)
    try:
        reader.follow(sid)
        http.post(f"/api/sessions/{sid}/prompt", json={"text": "TOOL:echo via-rest"})
        asked = reader.until(lambda m: m["type"] == "permission.asked")[-1]["data"]["permission"]
        assert http.get(f"/api/sessions/{sid}").json()["status"] in ("waiting", "busy")
        res = http.post(f"/api/sessions/{sid}/permissions/{asked['id']}", json={"reply": "sometimes"})
        assert res.status_code == 400
        res = http.post(f"/api/sessions/{sid}/permissions/{asked['id']}", json={"reply": "once"})
        assert res.status_code == 200
        done = reader.until(lambda m: m["type"] == "tool.end")
        assert done[-1]["data"]["part"]["output"].strip() == "via-rest"
    finally:
        reader.close()


def test_bad_input_gets_clear_errors_and_changes_nothing(live_chat) -> None:
    server, rt, http = live_chat
    sid = http.post("/api/sessions", json={"title": "errors"}).json()["id"]
    cases = [
        (http.post(f"/api/sessions/{sid}/prompt", json={"text": "   "}), 400, "empty_prompt"),
        (http.post(f"/api/sessions/{sid}/prompt", json={"text": 5}), 400, "bad_request"),
        (http.post(f"/api/sessions/{sid}/prompt", json={"text": "x", "files": [{"name": "a", "data": "%%%"}]}),
         400, "bad_file"),
        (http.post("/api/sessions/s_nope/prompt", json={"text": "x"}), 404, "not_found"),
        (http.patch(f"/api/sessions/{sid}", json={"state": "gone"}), 400, "bad_request"),
        (http.patch(f"/api/sessions/{sid}", json={"title": ""}), 400, "bad_title"),
        (http.get("/api/search"), 400, "bad_parameter"),
        (http.post(f"/api/sessions/{sid}/permissions/per_nope", json={"reply": "once"}), 409, "not_pending"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
    assert http.get(f"/api/sessions/{sid}/messages").json()["messages"] == []

    reader = WsReader(server.url)
    try:
        reader.ws.send("not json")
        assert reader.until(lambda m: True)[0]["type"] == "error"
        reader.follow("s_unknown")
        error = reader.until(lambda m: True)[0]
        assert error["type"] == "error" and error["session"] == "s_unknown"
        assert error["data"]["code"] == "not_found" and "no such session" in error["data"]["message"]
    finally:
        reader.close()


def test_attachments_reach_opencode_as_file_parts(live_chat, fake_llm) -> None:
    server, rt, http = live_chat
    sid = http.post("/api/sessions", json={"title": "files"}).json()["id"]
    data = base64.b64encode(b"print('attached')\n").decode()
    before = len(fake_llm.requests)
    res = http.post(f"/api/sessions/{sid}/prompt",
                    json={"text": "see file", "files": [{"name": "snippet.py", "mime": "text/plain", "data": data}]})
    assert res.status_code == 202

    def stored_parts() -> list[dict] | None:
        messages = http.get(f"/api/sessions/{sid}/messages").json()["messages"]
        parts = [p for m in messages for p in m["parts"]]
        return parts if any(p["kind"] == "file" for p in parts) and any(m["completed_at"] for m in messages[1:]) \
            else None

    parts = wait_until(stored_parts, 30, "the file part and the reply stored")
    file_part = next(p for p in parts if p["kind"] == "file")
    assert file_part["filename"] == "snippet.py"
    sent = json.dumps(fake_llm.requests[before:])
    assert "attached" in sent, "the file's content reached the model"


def test_pages_hear_about_list_changes_and_a_quiet_stream_still_pings(live_chat, monkeypatch) -> None:
    import nexus.ui.live as live_transport

    monkeypatch.setattr(live_transport, "HEARTBEAT_SECONDS", 0.5)
    server, rt, http = live_chat
    reader = WsReader(server.url)
    try:
        assert reader.until(lambda m: m["type"] == "ping", timeout=5)
        sid = http.post("/api/sessions", json={"title": "from a script"}).json()["id"]
        change = reader.until(lambda m: m["type"] == "sessions.changed")[-1]["data"]
        assert change == {"session_id": sid, "change": "created"}
        http.delete(f"/api/sessions/{sid}")
        assert reader.until(lambda m: m["type"] == "sessions.changed")[-1]["data"]["change"] == "deleted"
        restored = http.post(f"/api/sessions/{sid}/restore").json()
        assert restored["state"] == "active", "a delete does not archive: undo brings it back as it was"
    finally:
        reader.close()
    with httpx2.stream("GET", f"{server.url}/api/chat/stream/sse", params={"follow": "s_gone::"},
                       timeout=10, trust_env=False) as sse:
        assert sse.status_code == 200, "problems go down the stream; EventSource would retry an error forever"
        for line in sse.iter_lines():
            if line.startswith("data: ") and '"error"' in line:
                error = json.loads(line[6:])
                assert error["session"] == "s_gone" and error["data"]["code"] == "not_found"
                break
