"""The live hub: numbers every chat event, keeps recent ones for replay, and fans them out.

One `SessionStream` per session holds a sequence counter, the transcript state and a ring
buffer of recent events, all under one lock, so the number an event gets, its effect on
the transcript and its delivery to every listener happen in one order. A client that
(re)subscribes with the last number it holds gets the buffered events after it; if it is
too far behind, or holds numbers from an earlier run of Nexus (another `epoch`), it gets
one `snapshot` of the transcript instead. Either way: no gap, no duplicate.

Memory stays bounded: each session's replay buffer holds at most `REPLAY_BUFFER` events, and
a session nobody watches, idle and fully saved, is evicted after `EVICT_AFTER` seconds
(`evict_idle`, called by the transcript writer after it saves) and reloaded from the store
on its next use, with the same sequence numbers (the store keeps the last one).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

from nexus.chat import events as ev
from nexus.chat.event_check import check_event
from nexus.chat.events import ChatEvent
from nexus.chat.transcript import Transcript

REPLAY_BUFFER = 2000
SNAPSHOT_MESSAGES = 50
EVICT_AFTER = 60.0


class ClientStream:
    """What one connected browser receives: events of the sessions it follows, in order.

    A client that falls more than `maxsize` events behind is cut off (`overflowed`); it
    reconnects with its last number and catches up from the buffer or a snapshot.

    `offer` runs in the emitting thread for every event and every client, so it is kept to a
    deque append (atomic, no lock) and setting `wake` only when it is not set already; the
    reader clears `wake` before it looks, so nothing offered after that look is missed."""

    def __init__(self, hub: ChatHub, maxsize: int = 20_000, wake: threading.Event | None = None) -> None:
        self._hub = hub
        self._events: collections.deque[ChatEvent] = collections.deque()
        self._maxsize = maxsize
        self.sessions: set[str] = set()
        self.overflowed = False
        # Set on every offer, so a connection can block on one event for all its sources.
        self.wake = wake if wake is not None else threading.Event()

    def offer(self, event: ChatEvent) -> None:
        if len(self._events) >= self._maxsize:
            self.overflowed = True
        else:
            self._events.append(event)
        if not self.wake.is_set():
            self.wake.set()

    def drain(self, limit: int = 10_000) -> list[ChatEvent]:
        """What is waiting, without blocking."""
        out: list[ChatEvent] = []
        events = self._events
        try:
            while len(out) < limit:
                out.append(events.popleft())
        except IndexError:
            pass
        return out

    def get(self, timeout: float | None = None) -> ChatEvent | None:
        """The next event, waiting up to `timeout` seconds (for clients that own their `wake`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self._events.popleft()
            except IndexError:
                pass
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            self.wake.clear()
            if not self._events:
                self.wake.wait(left)

    def follow(self, session_id: str, after: int | None, epoch: str | None) -> None:
        # An eviction between looking the stream up and attaching makes attach refuse; look again.
        while not self._hub.stream(session_id).attach(self, after, epoch):
            pass
        self.sessions.add(session_id)

    def unfollow(self, session_id: str) -> None:
        stream = self._hub.existing(session_id)
        if stream is not None:
            stream.detach(self)
        self.sessions.discard(session_id)

    def close(self) -> None:
        for session_id in list(self.sessions):
            self.unfollow(session_id)


class SessionStream:
    def __init__(self, session_id: str, transcript: Transcript, last_seq: int, epoch: str) -> None:
        self.session_id = session_id
        self.transcript = transcript
        self.seq = last_seq
        self.epoch = epoch
        self.lock = threading.RLock()
        self._buffer: collections.deque[ChatEvent] = collections.deque(maxlen=REPLAY_BUFFER)
        self._clients: set[ClientStream] = set()
        self.persisted_seq = last_seq
        self.last_used = time.monotonic()
        self.evicted = False

    def emit(self, type_: str, data: dict[str, Any]) -> ChatEvent | None:
        """None if this stream was evicted meanwhile (the hub then emits on a fresh one)."""
        with self.lock:
            if self.evicted:
                return None
            self.last_used = time.monotonic()
            self.seq += 1
            event = ChatEvent(self.session_id, self.seq, type_, data)
            self.transcript.apply(type_, data)
            self._buffer.append(event)
            for client in self._clients:
                client.offer(event)
        return event

    def attach(self, client: ClientStream, after: int | None, epoch: str | None) -> bool:
        with self.lock:
            if self.evicted:
                return False
            self.last_used = time.monotonic()
            if after is not None and epoch == self.epoch and after <= self.seq and (
                    after >= self.seq or (self._buffer and after >= self._buffer[0].seq - 1)):
                backlog = [e for e in self._buffer if e.seq > after]
            else:
                backlog = [self.snapshot_event()]
            for event in backlog:
                client.offer(event)
            self._clients.add(client)
        return True

    def snapshot_event(self) -> ChatEvent:
        """The transcript as one event, numbered with the last event it includes."""
        with self.lock:
            return ChatEvent(self.session_id, self.seq, ev.SNAPSHOT, self.transcript.snapshot(SNAPSHOT_MESSAGES))

    def detach(self, client: ClientStream) -> None:
        with self.lock:
            self._clients.discard(client)
            self.last_used = time.monotonic()

    def evictable(self, now: float, idle_for: float) -> bool:
        """Nobody watching, nothing running, asked or queued, everything saved, unused for a while."""
        t = self.transcript
        return (not self._clients and now - self.last_used >= idle_for and self.persisted_seq == self.seq
                and not (t.dirty_messages or t.dirty_parts or t.session_dirty)
                and not (t.permissions or t.questions or t.queue)
                and t.status.get("status", "idle") == "idle")

    @property
    def client_count(self) -> int:
        with self.lock:
            return len(self._clients)


class ChatHub:
    def __init__(self, loader: Callable[[str], tuple[Transcript, int]]) -> None:
        """`loader(session_id)` builds a session's transcript and last sequence number from
        the store; it raises KeyError for an unknown session."""
        self._loader = loader
        self._lock = threading.Lock()
        self._streams: dict[str, SessionStream] = {}
        # Numbers restart with each run of Nexus; the epoch tells a client its numbers are stale.
        self.epoch = f"{int(time.time() * 1000):x}"

    def stream(self, session_id: str) -> SessionStream:
        with self._lock:
            stream = self._streams.get(session_id)
            if stream is None:
                transcript, last_seq = self._loader(session_id)
                stream = SessionStream(session_id, transcript, last_seq, self.epoch)
                self._streams[session_id] = stream
            return stream

    def existing(self, session_id: str) -> SessionStream | None:
        with self._lock:
            return self._streams.get(session_id)

    def streams(self) -> list[SessionStream]:
        with self._lock:
            return list(self._streams.values())

    def emit(self, session_id: str, type_: str, data: dict[str, Any]) -> ChatEvent:
        check_event(type_, data)  # against its declared payload: raises in tests, logs once in use
        while (event := self.stream(session_id).emit(type_, data)) is None:
            pass  # evicted between the lookup and the emit: the next lookup reloads it
        return event

    def evict_idle(self, idle_for: float | None = None) -> list[str]:
        """Forget sessions nobody uses (see `SessionStream.evictable`); returns their ids."""
        idle_for = EVICT_AFTER if idle_for is None else idle_for
        now = time.monotonic()
        evicted = []
        with self._lock:
            for session_id, stream in list(self._streams.items()):
                with stream.lock:
                    if stream.evictable(now, idle_for):
                        stream.evicted = True
                        del self._streams[session_id]
                        evicted.append(session_id)
        return evicted

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._streams.pop(session_id, None)

    def client(self, wake: threading.Event | None = None) -> ClientStream:
        return ClientStream(self, wake=wake)
