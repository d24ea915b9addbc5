"""The one live-stream transport (nexus/ui/live.py) over real sockets: deltas merged for a
slow client with the text intact, threads and subscriptions back to idle when clients go,
a heartbeat the page sees on both transports, and the per-client WebSocket cap."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import simple_websocket

import nexus.ui.live as live_transport
from nexus import websocket_client
from nexus.chat import events as ev
from nexus.runtime import Runtime
from nexus.ui import create_app
from nexus.ui.chat_stream import ChatFeed
from nexus.ui.http_server import WebServer
from tests.wait_helpers import wait_until

BURST = 2000


@pytest.fixture
def server(runtime: Runtime) -> Iterator[WebServer]:
    runtime.start()
    web = WebServer(create_app(runtime, {"NEXUS_WEBSOCKETS_PER_CLIENT": 4}), "127.0.0.1", 0).start()
    yield web
    web.stop()


def make_session(rt: Runtime) -> str:
    """A session in the store; no engine is needed to stream events into it."""
    sid = f"s_{uuid.uuid4().hex[:20]}"
    rt.chat.repo.create_session({"id": sid, "engine": "opencode", "engine_ref": f"ses_{sid}", "title": "burst"})
    return sid


def burst(rt: Runtime, sid: str, n: int = BURST) -> str:
    rt.chat.emit(sid, ev.MESSAGE_START, {"message": {"id": "m1", "role": "assistant"}})
    rt.chat.emit(sid, ev.PART_UPDATE, {"message_id": "m1", "part": {"id": "p1", "kind": "text", "text": ""}})
    for i in range(n):
        rt.chat.emit(sid, ev.TEXT_DELTA, {"message_id": "m1", "part_id": "p1", "delta": f"t{i} "})
    rt.chat.emit(sid, ev.MESSAGE_END, {"message_id": "m1", "finish": "stop", "completed_at": time.time()})
    return "".join(f"t{i} " for i in range(n))


def messages_of(raw: str) -> list[dict[str, Any]]:
    data = json.loads(raw)
    return data if isinstance(data, list) else [data]


def covered(messages: list[dict[str, Any]]) -> list[int]:
    return [seq for m in messages for seq in range(m.get("from_seq", m["seq"]), m["seq"] + 1)]


def test_a_client_that_did_not_read_gets_the_burst_as_one_merged_delta(runtime: Runtime) -> None:
    sid = make_session(runtime)
    feed = ChatFeed(runtime)
    try:
        feed.follow(sid, None, None)
        [hello, snapshot] = [json.loads(m) for m in feed.opening() + feed.take()]
        assert hello["type"] == "hello" and snapshot["type"] == "snapshot"
        text = burst(runtime, sid, 1500)  # the client reads nothing meanwhile: a slow client
        sent = [json.loads(m) for m in feed.take()]
        assert [m["type"] for m in sent] == [ev.MESSAGE_START, ev.PART_UPDATE, ev.TEXT_DELTA, ev.MESSAGE_END]
        merged = sent[2]
        assert merged["data"]["delta"] == text, "the final text is intact"
        assert (merged["from_seq"], merged["seq"]) == (snapshot["seq"] + 3, snapshot["seq"] + 2 + 1500)
        assert covered(sent) == list(range(snapshot["seq"] + 1, snapshot["seq"] + 1500 + 4)), "no gap, no duplicate"
    finally:
        feed.close()


def test_a_burst_over_a_websocket_arrives_merged_and_a_resume_gets_exactly_the_rest(server, runtime) -> None:
    sid = make_session(runtime)
    url = server.url.replace("http://", "ws://") + "/api/chat/stream"
    ws = websocket_client.connect(url)
    got: list[dict[str, Any]] = []
    try:
        hello = messages_of(ws.receive(timeout=10))[0]
        ws.send(json.dumps({"op": "follow", "session": sid, "after": None, "epoch": hello["epoch"]}))
        frames = 0
        while not any(m["type"] == "snapshot" for m in got):
            got += messages_of(ws.receive(timeout=10))
        text = burst(runtime, sid)
        while not any(m["type"] == ev.MESSAGE_END for m in got):
            raw = ws.receive(timeout=10)
            assert raw is not None, "the burst arrived"
            frames += 1
            got += messages_of(raw)
    finally:
        ws.close()
    events = [m for m in got if m["type"] != "snapshot"]
    assert covered(events) == list(range(events[0]["seq"], events[-1]["seq"] + 1)), "no gap, no duplicate"
    assert "".join(m["data"]["delta"] for m in events if m["type"] == ev.TEXT_DELTA) == text
    assert frames < BURST, f"{BURST} deltas went out in {frames} frames"

    # A client that holds a number inside that merged range (it got those events one by
    # one, earlier) resumes with exactly the rest, from the replay buffer.
    start = events[0]["seq"]  # message.start; delta i has number start + 2 + i
    held = start + 2 + 1200
    ws = websocket_client.connect(url)
    try:
        hello = messages_of(ws.receive(timeout=10))[0]
        ws.send(json.dumps({"op": "follow", "session": sid, "after": held, "epoch": hello["epoch"]}))
        resumed: list[dict[str, Any]] = []
        while not any(m["type"] == ev.MESSAGE_END for m in resumed):
            raw = ws.receive(timeout=10)
            assert raw is not None, f"resumed up to the end; got {[m['type'] for m in resumed]}"
            resumed += messages_of(raw)
    finally:
        ws.close()
    assert covered(resumed) == list(range(held + 1, events[-1]["seq"] + 1)), "exactly what it missed"
    assert "".join(m["data"]["delta"] for m in resumed if m["type"] == ev.TEXT_DELTA) == \
        "".join(f"t{i} " for i in range(1201, BURST))


def _handler_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "process_request_thread" in t.name or "simple_websocket" in t.name}


def test_threads_and_subscriptions_return_to_idle_after_clients_leave(server, runtime, monkeypatch) -> None:
    monkeypatch.setattr(live_transport, "HEARTBEAT_SECONDS", 0.5)  # how soon a gone SSE client is noticed
    monkeypatch.setitem(server.app.config, "NEXUS_WEBSOCKETS_PER_CLIENT", 32)  # six streams from one address
    sid = make_session(runtime)
    idle_subs = runtime.bus.subscriber_count
    wait_until(lambda: not _handler_threads(), 15, "no request threads before the test")
    base = server.url.replace("http://", "ws://")
    with contextlib.ExitStack() as clients:
        for path in ("/api/stream", "/api/chat/stream", "/api/logs/stream"):
            ws = websocket_client.connect(base + path)
            clients.callback(ws.close)
            assert messages_of(ws.receive(timeout=10))[0]["type"] == "hello"
        for path in ("/api/stream/sse", f"/api/chat/stream/sse?follow={sid}::", "/api/logs/stream/sse"):
            response = clients.enter_context(httpx2.stream("GET", f"{server.url}{path}", timeout=10, trust_env=False))
            lines = response.iter_lines()  # kept: a dropped line iterator closes the response
            clients.callback(lines.close)
            assert next(line for line in lines if line.startswith("data: "))
        assert runtime.chat.hub.stream(sid).client_count == 1
        assert runtime.bus.subscriber_count == idle_subs + 6, [s.topics for s in runtime.bus._subscriptions]
    # Nothing is published meanwhile: the streams must notice their clients left by themselves.
    wait_until(lambda: runtime.bus.subscriber_count == idle_subs, 15, "every subscription closed")
    wait_until(lambda: not _handler_threads(), 15, "every stream thread ended")
    assert runtime.chat.hub.stream(sid).client_count == 0


def test_a_page_view_leaves_no_subscription_without_waiting_for_a_heartbeat(server, runtime) -> None:
    assert live_transport.HEARTBEAT_SECONDS >= 15
    idle_subs = runtime.bus.subscriber_count
    ws = websocket_client.connect(server.url.replace("http://", "ws://") + "/api/stream?topics=chat.session")
    assert messages_of(ws.receive(timeout=10))[0]["type"] == "hello"
    assert runtime.bus.subscriber_count == idle_subs + 1
    ws.close()
    wait_until(lambda: runtime.bus.subscriber_count == idle_subs, 5, "the page view's subscription closed")


def test_sse_carries_the_same_visible_heartbeat_as_websocket(server, monkeypatch) -> None:
    monkeypatch.setattr(live_transport, "HEARTBEAT_SECONDS", 0.3)
    with httpx2.stream("GET", f"{server.url}/api/chat/stream/sse", timeout=10, trust_env=False) as res:
        seen = []
        for line in res.iter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:])["type"])
            if len(seen) == 2:
                break
    assert seen == ["hello", "ping"], "a message the page sees, not an SSE comment"
    ws = websocket_client.connect(server.url.replace("http://", "ws://") + "/api/chat/stream")
    try:
        assert [messages_of(ws.receive(timeout=10))[0]["type"] for _ in range(2)] == ["hello", "ping"]
    finally:
        ws.close()


def test_websockets_per_client_are_capped_with_a_clear_close_reason(server, monkeypatch) -> None:
    monkeypatch.setattr(live_transport, "HEARTBEAT_SECONDS", 0.5)  # a gone SSE client is noticed at the next ping
    url = server.url.replace("http://", "ws://") + "/api/stream?topics=chat.session"
    held = [websocket_client.connect(url) for _ in range(4)]
    try:
        for ws in held:
            assert messages_of(ws.receive(timeout=10))[0]["type"] == "hello"
        extra = websocket_client.connect(url)
        with pytest.raises(simple_websocket.ConnectionClosed):
            extra.receive(timeout=10)
        assert extra.close_reason == 1008
        assert "Too many live connections from your address (at most 4)" in extra.close_message
        refused = httpx2.get(f"{server.url}/api/stream/sse", timeout=10, trust_env=False)
        assert refused.status_code == 429, "the SSE fallback counts against the same cap"
        assert refused.json()["error"]["code"] == "too_many_connections"
        held.pop().close()
        wait_until(lambda: server.app.extensions["nexus.websocket_cap"].count("127.0.0.1") == 3, 15, "a slot freed")
        with httpx2.stream("GET", f"{server.url}/api/stream/sse", timeout=10, trust_env=False) as sse:
            assert sse.status_code == 200, "a freed slot serves SSE too"
            lines = sse.iter_lines()
            assert next(line for line in lines if line.startswith("data: "))
            assert server.app.extensions["nexus.websocket_cap"].count("127.0.0.1") == 4
            lines.close()
        wait_until(lambda: server.app.extensions["nexus.websocket_cap"].count("127.0.0.1") == 3, 20,
                   "the SSE stream's slot freed when it ended")
        again = websocket_client.connect(url)
        held.append(again)
        assert messages_of(again.receive(timeout=10))[0]["type"] == "hello", "a freed slot is usable again"
    finally:
        for ws in held:
            ws.close()


def test_the_cap_counts_cloudflares_client_address_not_the_tunnels_socket(server) -> None:
    cap = server.app.extensions["nexus.websocket_cap"]
    app = server.app
    with app.test_request_context("/", headers={"Cf-Connecting-Ip": "203.0.113.7"},
                                  environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        from nexus.ui.security import client_ip

        assert client_ip() == "203.0.113.7"
    assert all(cap.acquire("203.0.113.7", 2) for _ in range(2))
    assert not cap.acquire("203.0.113.7", 2), "the third from that visitor is refused"
    assert cap.acquire("127.0.0.1", 2), "while this computer still gets its own"
    for address in ("203.0.113.7", "203.0.113.7", "127.0.0.1"):
        cap.release(address)
    assert cap.count("203.0.113.7") == 0


class RawWebSocket:
    """A hand-made WebSocket client: it sees each frame's header bits and can vanish rudely."""

    def __init__(self, port: int, extensions: str = "") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        offer = f"Sec-WebSocket-Extensions: {extensions}\r\n" if extensions else ""
        self.sock.sendall((f"GET /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           f"Sec-WebSocket-Version: 13\r\n{offer}\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.accepted = head.decode()

    def send(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message).encode()
        assert len(payload) < 126
        mask = b"\x01\x02\x03\x04"  # clients must mask
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask
                          + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _exactly(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            assert chunk, "connection closed"
            out += chunk
        return out

    def frame(self) -> tuple[int, bytes]:
        """(first header byte, payload) of the next frame."""
        first, second = self._exactly(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(self._exactly(2), "big")
        elif length == 127:
            length = int.from_bytes(self._exactly(8), "big")
        return first, self._exactly(length)

    def vanish(self) -> None:
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset
        self.sock.close()


def test_small_frames_skip_compression_and_large_ones_are_deflated(server, runtime) -> None:
    sid = make_session(runtime)
    raw = RawWebSocket(server.port, "permessage-deflate")
    try:
        assert "permessage-deflate" in raw.accepted, "the browser's offer was accepted"
        first, payload = raw.frame()
        assert first == 0x81 and json.loads(payload)["type"] == "hello", "small: FIN, text, RSV1 clear"
        raw.send({"op": "follow", "session": sid})
        inflate = zlib.decompressobj(-15)  # one context for the whole connection (context takeover)
        frames: list[tuple[bool, int]] = []
        got: list[dict[str, Any]] = []
        while not any(m["type"] == "snapshot" for m in got) or not any(m["type"] == ev.MESSAGE_END for m in got):
            first, payload = raw.frame()
            deflated = bool(first & 0x40)
            text = inflate.decompress(payload + b"\x00\x00\xff\xff") if deflated else payload
            frames.append((deflated, len(text)))
            got += messages_of(text)
            if len(got) == 1:
                burst(runtime, sid, 1000)
    finally:
        raw.sock.close()
    assert "".join(m["data"]["delta"] for m in got if m["type"] == ev.TEXT_DELTA) == \
        "".join(f"t{i} " for i in range(1000))
    assert any(deflated for deflated, _ in frames), f"the large frames are deflated: {frames}"
    assert not [size for deflated, size in frames if deflated and size < live_transport.SMALL_FRAME], \
        f"no small frame was deflated: {frames}"


def test_a_client_that_vanishes_mid_stream_is_not_logged_as_an_error(server, runtime, caplog) -> None:
    sid = make_session(runtime)
    raw = RawWebSocket(server.port)
    raw.send({"op": "follow", "session": sid})
    wait_until(lambda: runtime.chat.hub.stream(sid).client_count == 1, 15, "the follow arrived")
    raw.vanish()  # no close frame: a reset
    burst(runtime, sid, 500)
    wait_until(lambda: runtime.chat.hub.stream(sid).client_count == 0, 15, "the stream ended with its client")
    errors = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]


def test_merging_keeps_each_sessions_order_and_never_jumps_over_another_event() -> None:
    from nexus.chat.events import ChatEvent
    from nexus.chat.frames import merged_wire

    def delta(sid: str, seq: int, text: str, part: str = "p1") -> ChatEvent:
        return ChatEvent(sid, seq, ev.TEXT_DELTA, {"message_id": "m1", "part_id": part, "delta": text})

    events = [delta("a", 1, "x"), delta("b", 1, "1"), delta("a", 2, "y"), delta("b", 2, "2"),
              ChatEvent("a", 3, ev.PART_UPDATE, {"message_id": "m1", "part": {"id": "p1"}}),
              delta("a", 4, "z"), delta("a", 5, "w", part="p2"), delta("a", 6, "v", part="p2")]
    sent = [json.loads(text) for text in merged_wire(events)]
    per_session = {sid: [(m.get("from_seq", m["seq"]), m["seq"], m["type"], m["data"].get("delta"))
                         for m in sent if m["session"] == sid] for sid in ("a", "b")}
    assert per_session["a"] == [(1, 2, ev.TEXT_DELTA, "xy"), (3, 3, ev.PART_UPDATE, None),
                                (4, 4, ev.TEXT_DELTA, "z"), (5, 6, ev.TEXT_DELTA, "wv")]
    assert per_session["b"] == [(1, 2, ev.TEXT_DELTA, "12")]
    [single] = [m for m in sent if m["session"] == "a" and m["seq"] == 4]
    assert "from_seq" not in single, "a delta not merged goes out as the hub made it"
    assert merged_wire(events[:1]) == [events[0].wire]
