"""OpenCode's event stream read in blocks (nexus/server/sse.py), against a real socket server
that cuts its bytes at awkward places."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from nexus.server.client import OpenCodeClient, OpenCodeError
from nexus.server.sse import EventStream


class RawServer:
    """Answers one GET with `head` and then the given byte pieces, each its own send; keeps the
    connection open afterwards until `finish` (or closes at once with `close_after`)."""

    def __init__(self, head: bytes, pieces: list[bytes], *, close_after: bool = True) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.request = b""
        self.finish = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(head, pieces, close_after),
                                        name="test-sse-server", daemon=True)
        self._thread.start()

    def _serve(self, head: bytes, pieces: list[bytes], close_after: bool) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while b"\r\n\r\n" not in self.request:
                self.request += conn.recv(4096)
            conn.sendall(head)
            for piece in pieces:
                conn.sendall(piece)
                time.sleep(0.001)  # separate reads on the client's side, most of the time
            if not close_after:
                self.finish.wait(30)

    def stop(self) -> None:
        self.finish.set()
        self.listener.close()
        self._thread.join(10)


@pytest.fixture
def serve() -> Iterator:
    servers: list[RawServer] = []

    def start(head: bytes, pieces: list[bytes], **kw) -> RawServer:
        servers.append(RawServer(head, pieces, **kw))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


CHUNKED = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
PLAIN = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def cut(data: bytes, rng: random.Random) -> list[bytes]:
    """`data` in pieces of 1..40 bytes: boundaries fall inside size lines, CRLFs and events."""
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, 40)
        out.append(data[i:i + n])
        i += n
    return out


def events_of(url: str, timeout: float = 10.0) -> list[bytes]:
    stream = EventStream(url, "/global/event", read_timeout=timeout)
    try:
        stream.open()
        return list(stream.events())
    finally:
        stream.close()


def test_chunked_stream_cut_anywhere_gives_every_event_whole(serve):
    payloads = [json.dumps({"payload": {"type": "message.part.delta", "properties": {"delta": f"tok{i} é"}}},
                           ensure_ascii=False).encode() for i in range(300)]
    body = b"".join(chunk(b"data: " + p + b"\n\n") for p in payloads) + b"0\r\n\r\n"
    server = serve(CHUNKED, cut(body, random.Random(7)))
    assert events_of(server.url) == payloads
    assert server.request.startswith(b"GET /global/event HTTP/1.1\r\n")


def test_crlf_lines_multiline_data_and_comments_as_the_standard_says(serve):
    body = (b": a comment\r\n\r\ndata: one\r\n\r\n"          # CRLF line ends; a comment-only event is skipped
            b"event: x\ndata:two\ndata: lines\n\n"          # several data lines join with \n; no space is fine
            b"id: 5\n\n"                                   # no data: no event
            b"data: last\n\n")
    server = serve(PLAIN, cut(body, random.Random(3)))
    assert events_of(server.url) == [b"one", b"two\nlines", b"last"]


def test_several_events_in_one_chunk_and_one_event_over_several_chunks(serve):
    body = chunk(b"data: a\n\ndata: b\n\n") + chunk(b"data: c") + chunk(b"-d\n") + chunk(b"\n") + b"0\r\n\r\n"
    server = serve(CHUNKED, [body])
    assert events_of(server.url) == [b"a", b"b", b"c-d"]


def test_error_status_raises_with_the_status_and_nothing_is_read(serve):
    server = serve(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n", [])
    stream = EventStream(server.url, "/global/event", read_timeout=5)
    with pytest.raises(OpenCodeError) as err:
        stream.open()
    stream.close()
    assert err.value.status == 401


def test_basic_auth_is_sent_as_the_client_sends_it(serve):
    server = serve(CHUNKED, [b"0\r\n\r\n"])
    client = OpenCodeClient(server.url, password="s3cret-pass")
    try:
        with client.events("/global/event", read_timeout=5) as stream:
            assert list(stream.events()) == []
    finally:
        client.close()
    assert b"Authorization: Basic b3BlbmNvZGU6czNjcmV0LXBhc3M=\r\n" in server.request  # opencode:s3cret-pass
    assert client.counters.snapshot() == (1, 0)


def test_silence_longer_than_the_read_timeout_raises(serve):
    server = serve(CHUNKED, [chunk(b"data: first\n\n")], close_after=False)
    stream = EventStream(server.url, "/global/event", read_timeout=0.5)
    stream.open()
    events = stream.events()
    assert next(events) == b"first"
    started = time.monotonic()
    with pytest.raises(OpenCodeError, match="broke off"):
        next(events)
    assert time.monotonic() - started < 5
    stream.close()


def test_close_from_another_thread_ends_a_blocked_reader(serve):
    server = serve(CHUNKED, [chunk(b"data: first\n\n")], close_after=False)
    stream = EventStream(server.url, "/global/event", read_timeout=30)
    stream.open()
    got: list[bytes] = []
    ended = threading.Event()

    def read() -> None:
        got.extend(stream.events())
        ended.set()

    reader = threading.Thread(target=read, name="test-sse-reader", daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    stream.close()
    assert ended.wait(10), "close() did not wake the reader"
    assert got == [b"first"]
