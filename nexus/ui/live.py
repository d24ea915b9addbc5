"""The one live-stream transport: a generator of messages and two thin adapters.

Every live stream (chat, status and metrics, log lines) is a `LiveFeed`: the messages it
starts with, what is waiting now, and replies to what a WebSocket client sends. `_frames`
turns a feed into what goes on the wire, the same way for both transports:

- it blocks on one `threading.Event` that every source sets when it has something (the
  hub's client queue, bus subscriptions, the WebSocket's reader, server shutdown), so an
  idle stream costs no CPU and a message leaves as soon as it arrives;
- everything waiting is sent together, at most one flush every `FLUSH_SECONDS` (2 ms) per
  client, so a burst of deltas costs a few frames, not thousands (the feed merges them);
- after `HEARTBEAT_SECONDS` of quiet it sends `{"type": "ping"}`, a message the page sees
  on both transports (WebSocket pings are invisible to scripts, SSE comments too), so the
  browser's one rule ("silence for 40 s means a dead connection") holds for both;
- it ends when the client goes (the WebSocket reader wakes it at once; a gone SSE client
  fails the next write, at most one heartbeat later), when the feed says the client is too
  far behind, or when Nexus shuts down; the feed's subscriptions are closed then.

WebSocket: one JSON message per frame, or a JSON array when several were waiting; Nagle's
delay off (TCP_NODELAY), and frames under `SMALL_FRAME` bytes sent uncompressed even when
the browser negotiated permessage-deflate (RFC 7692 lets each message choose): deflating
a 150-byte delta costs more time than the bytes it saves. SSE: one `data:` line per
message, a `retry:` hint first. A client that disconnects is logged at debug level, not as
an error.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any, Protocol

from flask import Response, stream_with_context

from nexus import wire

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
# 2 ms, not 4: over the direct reader, p50 ≤ 5 ms in 9 of 9 quiet-machine relay runs against 5 of 7
# at 4 ms, at the same CPU per delta; 1 ms was no better (README, benchmarks).
FLUSH_SECONDS = 0.002
SMALL_FRAME = 512
PING = '{"type":"ping"}'


def dump(message: dict[str, Any]) -> str:
    return wire.dumps(message)


class Closing(threading.Event):
    """Set when the web server shuts down; also wakes every open stream at once, so none
    waits out its heartbeat before noticing."""

    def __init__(self) -> None:
        super().__init__()
        self._watchers: set[threading.Event] = set()
        self._watch_lock = threading.Lock()

    def watch(self, wake: threading.Event) -> None:
        with self._watch_lock:
            self._watchers.add(wake)
        if self.is_set():
            wake.set()

    def unwatch(self, wake: threading.Event) -> None:
        with self._watch_lock:
            self._watchers.discard(wake)

    def set(self) -> None:
        super().set()
        with self._watch_lock:
            watchers = list(self._watchers)
        for wake in watchers:
            wake.set()


class LiveFeed(Protocol):
    wake: threading.Event

    def opening(self) -> list[str]:
        """The first messages (a hello, maybe errors), as JSON text."""

    def take(self) -> list[str]:
        """Everything waiting now, as JSON text, without blocking."""

    def handle(self, raw: Any) -> list[str]:
        """Replies to one message a WebSocket client sent."""

    def cut_off(self) -> str | None:
        """Why the client must reconnect (too far behind), or None."""

    def close(self) -> None:
        """End every subscription; may be called more than once."""


class Close:
    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


def _frames(feed: LiveFeed, stop: Closing, gone: Callable[[], bool] = lambda: False,
            inbox: Callable[[], list[Any]] = list) -> Generator[list[str] | Close, None, None]:
    """Batches of messages to send, then at most one `Close`."""
    heartbeat = HEARTBEAT_SECONDS  # read per stream so a test can shorten it
    wake = feed.wake
    stop.watch(wake)
    try:
        yield feed.opening()
        last_sent = last_flush = time.monotonic()
        while True:
            quiet = time.monotonic() - last_sent
            if quiet < heartbeat:
                wake.wait(heartbeat - quiet)
            wake.clear()  # before reading the sources: whatever comes later sets it again
            if stop.is_set():
                yield Close(1001, "Nexus is shutting down")
                return
            if gone():
                return
            batch = [reply for raw in inbox() for reply in feed.handle(raw)]
            now = time.monotonic()
            if now - last_flush < FLUSH_SECONDS:
                # Let the rest of a burst arrive: it goes out merged in this flush.
                time.sleep(FLUSH_SECONDS - (now - last_flush))
            batch += feed.take()
            reason = feed.cut_off()
            if reason:
                if batch:
                    yield batch
                yield Close(1013, reason)
                return
            if batch:
                yield batch
                last_sent = last_flush = time.monotonic()
            elif time.monotonic() - last_sent >= heartbeat:
                yield [PING]
                last_sent = time.monotonic()
    finally:
        stop.unwatch(wake)
        feed.close()


def _tune(ws: Any) -> None:
    """TCP_NODELAY, and no deflate for small frames (see the module's docstring)."""
    # Imported here, not at start-up: only a WebSocket request needs them (issue 16).
    from wsproto.extensions import PerMessageDeflate
    from wsproto.frame_protocol import Opcode, RsvBits

    sock = getattr(ws, "sock", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a test's socket pair): nothing to tune
    connection = getattr(getattr(ws, "ws", None), "connection", None)
    for extension in getattr(getattr(connection, "_proto", None), "extensions", ()):
        if isinstance(extension, PerMessageDeflate):
            deflate = extension.frame_outbound

            def frame_outbound(proto: Any, opcode: Opcode, rsv: RsvBits, data: bytes, fin: bool,
                               deflate: Callable[..., tuple[RsvBits, bytes]] = deflate) -> tuple[RsvBits, bytes]:
                if fin and opcode is not Opcode.CONTINUATION and len(data) < SMALL_FRAME:
                    return rsv, data  # a whole small message: sent as is, RSV1 clear
                return deflate(proto, opcode, rsv, data, fin)

            extension.frame_outbound = frame_outbound  # type: ignore[method-assign]


def serve_websocket(ws: Any, feed: LiveFeed, stop: Closing) -> None:
    """Run `feed` over a flask-sock WebSocket until either side ends it."""
    from simple_websocket import ConnectionClosed

    _tune(ws)
    # The reader thread of simple_websocket sets `ws.event` on every message and on close:
    # sharing the feed's event makes one wait cover the client, the sources and shutdown.
    ws.event = feed.wake
    feed.wake.set()  # what arrived before the swap set the old event: look at once

    def inbox() -> list[Any]:
        out = []
        while (raw := ws.receive(timeout=0)) is not None:
            out.append(raw)
        return out

    frames = _frames(feed, stop, gone=lambda: not ws.connected, inbox=inbox)
    try:
        for item in frames:
            if isinstance(item, Close):
                ws.close(item.code, item.reason)
                return
            ws.send(item[0] if len(item) == 1 else "[" + ",".join(item) + "]")
    except (ConnectionClosed, OSError) as exc:  # BrokenPipeError, ConnectionResetError: the client left
        log.debug("live client left: %s", exc)
    finally:
        frames.close()
        feed.close()  # also when the generator never started


def serve_sse(feed: LiveFeed, stop: Closing) -> Response:
    """Run `feed` as a text/event-stream response."""

    def generate() -> Iterator[str]:
        frames = _frames(feed, stop)
        try:
            yield "retry: 1000\n\n"
            for item in frames:
                if isinstance(item, Close):
                    return
                yield "".join(f"data: {message}\n\n" for message in item)
        finally:
            frames.close()  # a gone client closes this generator: end the feed with it

    response = Response(stream_with_context(generate()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    response.call_on_close(feed.close)  # also when the body was never read
    return response
