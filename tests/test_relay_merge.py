"""The OpenCode engine merges the text deltas of one part that arrive together (one read of
OpenCode's stream) before they reach the hub, and keeps every session's order and text.

The engine reads a real HTTP stream on 127.0.0.1 in `/global/event`'s exact wire format (a
stand-in for OpenCode, so the burst is exactly as written) and emits into a real chat service.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from nexus.chat.engines.opencode import OpenCodeEngine
from nexus.server.client import OpenCodeClient


def sse(payload: dict[str, Any]) -> bytes:
    line = b"data: " + json.dumps({"directory": "/tmp/p", "project": "global", "payload": payload},
                                  separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(line), line)


def delta(ref: str, part: str, text: str) -> bytes:
    return sse({"id": f"evt_{uuid.uuid4().hex[:12]}", "type": "message.part.delta",
                "properties": {"sessionID": ref, "messageID": f"msg_{ref}", "partID": part, "field": "text",
                               "delta": text}})


class StandIn:
    """Serves one `/global/event` stream: the head at once, `burst` (one send) on `go`."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connected = threading.Event()
        self.go = threading.Event()
        self.done = threading.Event()
        self.burst = b""
        self._thread = threading.Thread(target=self._serve, name="test-opencode-stand-in", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            self.connected.set()
            if self.go.wait(30):
                conn.sendall(self.burst)
            self.done.wait(30)

    def stop(self) -> None:
        self.go.set()
        self.done.set()
        self.listener.close()
        self._thread.join(10)


class Supervisor:
    """What the engine needs of a supervisor: one client, never restarted."""

    def __init__(self, url: str) -> None:
        self.client = OpenCodeClient(url)

    def status(self) -> dict[str, Any]:
        return {"state": "running"}

    def history(self, limit: int = 1) -> list[dict[str, Any]]:
        return []


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = StandIn()
    yield server
    server.stop()


@pytest.fixture
def engine(runtime, stand_in) -> Iterator[OpenCodeEngine]:
    supervisor = Supervisor(stand_in.url)
    engine = OpenCodeEngine(supervisor, runtime.chat, server_id="merge-test")
    engine.start()
    yield engine
    engine.stop()
    supervisor.client.close()


def session(runtime, ref: str) -> str:
    sid = f"s_{uuid.uuid4().hex[:20]}"
    runtime.chat.repo.create_session({"id": sid, "engine": "opencode", "engine_ref": ref, "title": "merge"})
    runtime.chat.emit(sid, "message.start", {"message": {"id": f"msg_{ref}", "role": "assistant"}})
    runtime.chat.emit(sid, "part.update", {"message_id": f"msg_{ref}",
                                           "part": {"id": f"prt_{ref}", "kind": "text", "text": ""}})
    return sid


def events_until(client, ended, timeout: float = 30.0) -> list:
    out: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = client.get(timeout=0.2)
        if event is not None:
            out.append(event)
            if ended(out):
                return out
    raise AssertionError(f"timed out; got {[(e.type, e.data.get('delta')) for e in out][-10:]}")


def test_a_burst_of_deltas_reaches_the_hub_merged_in_order_with_every_character(runtime, stand_in, engine):
    a, b = f"ses_a{uuid.uuid4().hex[:8]}", f"ses_b{uuid.uuid4().hex[:8]}"
    sid_a, sid_b = session(runtime, a), session(runtime, b)
    watcher = runtime.chat.hub.client()
    for sid in (sid_a, sid_b):
        watcher.follow(sid, runtime.chat.hub.stream(sid).seq, runtime.chat.hub.epoch)
    # Two sessions interleaved, as OpenCode writes them; in A, another part's update between two
    # runs of deltas (it must stay between them).
    first = [f"a{i} " for i in range(10)]
    second = [f"á{i} " for i in range(10, 20)]
    words_b = [f"b{i} " for i in range(20)]
    burst = b""
    for i in range(10):
        burst += delta(a, f"prt_{a}", first[i]) + delta(b, f"prt_{b}", words_b[i])
    burst += sse({"id": "evt_other", "type": "message.part.updated",
                  "properties": {"sessionID": a, "part": {"id": "prt_other", "messageID": f"msg_{a}",
                                                          "sessionID": a, "type": "text", "text": "other"}}})
    for i in range(10):
        burst += delta(a, f"prt_{a}", second[i]) + delta(b, f"prt_{b}", words_b[10 + i])
    assert len(burst) < 16384  # one read of the engine's reader, so it is merged
    assert stand_in.connected.wait(10)
    time.sleep(0.2)  # the engine's reader is blocked on the stream: the burst comes in one read
    stand_in.burst = burst
    stand_in.go.set()

    def text_of(events, sid):
        return "".join(e.data["delta"] for e in events if e.session_id == sid and e.type == "text.delta")

    got = events_until(watcher, lambda out: text_of(out, sid_a) == "".join(first + second)
                       and text_of(out, sid_b) == "".join(words_b))
    of_a = [e for e in got if e.session_id == sid_a]
    kinds = [e.type for e in of_a]
    split = kinds.index("part.update")
    assert "".join(e.data["delta"] for e in of_a[:split]) == "".join(first)
    assert "".join(e.data["delta"] for e in of_a[split + 1:]) == "".join(second)
    assert set(kinds[:split]) == {"text.delta"} and set(kinds[split + 1:]) == {"text.delta"}
    deltas = [e for e in got if e.type == "text.delta"]
    assert len(deltas) < 20, f"{len(deltas)} hub events for 40 deltas that came together: not merged"
    seqs = [e.seq for e in of_a]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # numbered without a gap
    transcript = runtime.chat.hub.stream(sid_a).transcript.snapshot(10)
    texts = {p["id"]: p.get("text") for m in transcript["messages"] for p in m["parts"]}
    assert texts[f"prt_{a}"] == "".join(first + second) and texts["prt_other"] == "other"


def test_events_parse_even_what_orjson_refuses_and_unreadable_ones_are_skipped(caplog) -> None:
    # Python's json reads Infinity (JavaScript's JSON.stringify never writes it); orjson refuses it.
    batch = [b'{"directory":"/p","payload":{"type":"a","n":Infinity}}',
             b"not json", b"\xff\xfe", b'{"payload":{"type":"sync","syncEvent":{}}}',
             '{"payload":{"type":"b","text":"é"}}'.encode()]
    parsed = OpenCodeEngine._parsed(batch)
    assert [payload for _, payload in parsed] == [{"type": "a", "n": float("inf")}, {"type": "b", "text": "é"}]
    assert parsed[0][0]["directory"] == "/p"
    assert sum("unreadable event" in r.message for r in caplog.records) == 2
