"""Messages sent while the agent works: queued (in the store), shown under the transcript,
editable and cancellable, and sent one at a time when the session goes idle.

One lock per session makes "send now or queue" a single decision: a message is sent only
when the session is idle, nothing is queued, and no other message was just sent and not yet
taken up by the engine (in flight). So two quick sends can never both become prompts; the
second waits in the queue. The worker thread `nexus-chat-queue` sends queued messages when
a session goes idle (woken by its status events, and every few seconds in case a wake-up
was missed).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from nexus.background import PeriodicWorker
from nexus.chat import events as ev
from nexus.chat.pending import QUEUED, PendingStore
from nexus.errors import ServiceError

log = logging.getLogger(__name__)

WORKING = ("busy", "retry", "waiting")
# A message handed to the engine counts as in flight until the engine reports it busy; if it
# never does (the engine lost it), the queue moves on after this long.
IN_FLIGHT_LIMIT = 30.0
MAX_QUEUED = 20


class QueueError(ServiceError):
    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message, status, code)


def shown(item: dict[str, Any]) -> dict[str, Any]:
    """A queued message as clients see it: attachments by name only."""
    return {"id": item["id"], "text": item["text"], "agent": item.get("agent"), "model": item.get("model"),
            "files": [{"name": f["name"], "mime": f["mime"]} for f in item.get("files") or []],
            "queued_at": item["queued_at"]}


class PromptQueue:
    def __init__(self, store: PendingStore, *, send: Callable[[str, dict[str, Any]], None],
                 status_of: Callable[[str], str], emit: Callable[[str, str, dict[str, Any]], None]) -> None:
        self._store = store
        self._send = send
        self._status_of = status_of
        self._emit = emit
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._in_flight: dict[str, float] = {}  # session id -> when its last message was handed over
        self._due: set[str] = set()
        self._worker = PeriodicWorker("nexus-chat-queue", 3.0, self._send_due, what="sending queued messages")

    def start(self) -> None:
        self._worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._worker.stop(timeout)

    def _lock(self, session_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(session_id, threading.Lock())

    def _flying(self, session_id: str) -> bool:
        at = self._in_flight.get(session_id)
        return at is not None and time.monotonic() - at < IN_FLIGHT_LIMIT

    def items(self, session_id: str) -> list[dict[str, Any]]:
        return self._store.items(session_id, QUEUED)

    # ----- what the service calls ---------------------------------------------------------------

    def submit(self, session_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Send `message` ({text, files, agent, model}) now, or queue it. Returns
        {"queued": False} or {"queued": True, "id": ...}."""
        with self._lock(session_id):
            queued = self.items(session_id)
            if not queued and not self._flying(session_id) and self._status_of(session_id) == "idle":
                self._hand_over(session_id, message)
                return {"queued": False}
            if len(queued) >= MAX_QUEUED:
                raise QueueError(f"{MAX_QUEUED} messages are queued already. Wait, or cancel one.", 409,
                                 "queue_full")
            item = {**message, "id": f"q_{uuid.uuid4().hex[:20]}", "queued_at": time.time()}
            self._store.put(session_id, QUEUED, item["id"], item)
            self._announce(session_id)
            return {"queued": True, "id": item["id"]}

    def edit(self, session_id: str, item_id: str, text: str) -> None:
        with self._lock(session_id):
            item = next((i for i in self.items(session_id) if i["id"] == item_id), None)
            if item is None:
                raise QueueError("That message is not queued any more (it was sent or cancelled).", 409,
                                 "not_queued")
            if not text and not item.get("files"):
                raise QueueError("A queued message cannot be empty: cancel it instead.", 400, "empty_prompt")
            self._store.put(session_id, QUEUED, item_id, {**item, "text": text})
            self._announce(session_id)

    def cancel(self, session_id: str, item_id: str) -> None:
        with self._lock(session_id):
            if not any(i["id"] == item_id for i in self.items(session_id)):
                raise QueueError("That message is not queued any more (it was sent or cancelled).", 409,
                                 "not_queued")
            self._store.remove(item_id)
            self._announce(session_id)

    def on_status(self, session_id: str, status: str) -> None:
        """Every status event of a session: working means the engine took the last message;
        idle means the next queued one may go."""
        if status in WORKING:
            self._in_flight.pop(session_id, None)
        elif status == "idle":
            self._due.add(session_id)
            self._worker.wake()

    # ----- sending --------------------------------------------------------------------------------

    def _hand_over(self, session_id: str, message: dict[str, Any]) -> None:
        self._in_flight[session_id] = time.monotonic()
        try:
            self._send(session_id, message)
        except Exception:
            self._in_flight.pop(session_id, None)
            raise

    def _send_due(self) -> None:
        due, self._due = self._due, set()
        for session_id in due | {s for s in list(self._in_flight) if not self._flying(s)}:
            self.send_next(session_id)

    def send_next(self, session_id: str) -> bool:
        """Send the oldest queued message if the session is free; True when one went."""
        with self._lock(session_id):
            if self._flying(session_id) or self._status_of(session_id) != "idle":
                return False  # working, or archived ("paused")
            queued = self.items(session_id)
            if not queued:
                self._in_flight.pop(session_id, None)
                return False
            head = queued[0]
            # Clients hear that the message left the queue before any event of the turn it
            # starts (a fast engine can finish that turn before _hand_over returns).
            self._emit(session_id, ev.QUEUE_UPDATED, {"queue": [shown(i) for i in queued[1:]]})
            try:
                self._hand_over(session_id, head)
            except Exception as exc:
                log.warning("could not send a queued message of %s: %s", session_id, exc)
                self._announce(session_id)  # still queued
                self._emit(session_id, ev.ERROR, {"message": f"A queued message could not be sent yet: {exc}",
                                                  "code": "queue_send_failed"})
                return False
            self._store.remove(head["id"])
            return True

    def _announce(self, session_id: str) -> None:
        self._emit(session_id, ev.QUEUE_UPDATED, {"queue": [shown(i) for i in self.items(session_id)]})
