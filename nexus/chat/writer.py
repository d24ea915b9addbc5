"""Writes live transcripts to the store in small batches.

Streaming text changes a part dozens of times a second; writing each change would make the
database the bottleneck. The writer thread (`nexus-transcript-writer`) saves what changed
every `interval` seconds, so a hard kill loses at most that much streamed text; a finished
message wakes the writer, so it is saved within milliseconds. Search indexing happens once,
when a message has finished, not on every batch of streamed text. After each round it asks
the hub to evict the sessions nobody watches (nexus/chat/hub.py), which only ever drops
what is saved, and has glibc give freed pages back.
"""

from __future__ import annotations

import copy
import logging
import threading
from typing import Any

from nexus.background import PeriodicWorker
from nexus.chat.hub import ChatHub, SessionStream
from nexus.chat.repository import ChatRepository
from nexus.glibc_malloc import return_free_memory
from nexus.store.space import StorageProblem, storage_problem

log = logging.getLogger(__name__)


class TranscriptWriter:
    def __init__(self, hub: ChatHub, repo: ChatRepository, interval: float = 0.5) -> None:
        self._hub = hub
        self._repo = repo
        self._write_lock = threading.Lock()  # one writer at a time keeps upserts in order
        self.storage_problem: StorageProblem | None = None  # the disk is full (or read-only) now
        self._worker = PeriodicWorker("nexus-transcript-writer", interval, self._round,
                                      what="saving transcripts")

    def start(self) -> None:
        self._worker.start()

    def wake(self) -> None:
        self._worker.wake()

    def stop(self, timeout: float = 5.0) -> None:
        self._worker.stop(timeout)
        self.flush_all()

    def _round(self) -> None:
        self.flush_all()
        self._hub.evict_idle()
        # What was saved, released (transcript.first_kept) or evicted is garbage now: give its
        # pages back, or the heap keeps them (nexus/glibc_malloc.py; at most every 30 s).
        return_free_memory()

    def flush_all(self) -> None:
        problem = None
        for stream in self._hub.streams():
            try:
                self._flush_stream(stream)
            except Exception as exc:
                problem = storage_problem(exc)
                if problem is None:
                    raise
        self._note(problem)

    def _note(self, problem: StorageProblem | None) -> None:
        """A full disk is said once (and once more when saving works again), not as a
        traceback every half second; the unsaved work stays dirty in memory meanwhile."""
        if problem is not None and self.storage_problem is None:
            log.error("cannot save transcripts: %s", problem.message)
        elif problem is None and self.storage_problem is not None:
            log.warning("transcripts are saved again; nothing streamed meanwhile was lost")
        self.storage_problem = problem

    def flush(self, session_id: str) -> None:
        """Save one session now (before a read of the store). With the disk full the read goes
        on with what is saved; the rest stays in memory until there is room."""
        stream = self._hub.existing(session_id)
        if stream is not None:
            try:
                self._flush_stream(stream)
            except Exception as exc:
                problem = storage_problem(exc)
                if problem is None:
                    raise
                self._note(problem)

    def _flush_stream(self, stream: SessionStream) -> None:
        with self._write_lock:
            with stream.lock:
                t = stream.transcript
                if not (t.dirty_messages or t.dirty_parts or t.session_dirty or t.removed_messages
                        or stream.persisted_seq != stream.seq):
                    return
                removed, t.removed_messages = t.removed_messages, set()
                sid = stream.session_id
                messages = [{**copy.deepcopy({k: v for k, v in t.messages[m].items() if k != "parts"}),
                             "session_id": sid} for m in t.dirty_messages if m in t.messages]
                parts: list[tuple[int, dict[str, Any]]] = []
                for part_id in t.dirty_parts:
                    part = t.part(part_id)
                    if part is None:
                        continue
                    owner = t.messages.get(part["message_id"])
                    position = next((i for i, p in enumerate(owner["parts"]) if p["id"] == part_id), 0) if owner else 0
                    parts.append((position, {**copy.deepcopy(part), "session_id": sid}))
                # Text is indexed for search once its message has finished (all its parts).
                finished = {m["id"] for m in messages if m.get("completed_at")}
                listed = {p["id"] for _, p in parts}
                for message_id in finished:
                    for position, part in enumerate(t.messages[message_id]["parts"]):
                        if part["id"] not in listed and part.get("kind") == "text":
                            parts.append((position, {**copy.deepcopy(part), "session_id": sid}))
                for _, part in parts:
                    part["index"] = part["message_id"] in finished
                # A part's message must exist first (foreign key): save its message too.
                known = {m["id"] for m in messages}
                for _, part in parts:
                    if part["message_id"] not in known and part["message_id"] in t.messages:
                        known.add(part["message_id"])
                        messages.append({**copy.deepcopy({k: v for k, v in t.messages[part["message_id"]].items()
                                                          if k != "parts"}), "session_id": sid})
                session = copy.deepcopy(t.session)
                seq = stream.seq
                t.dirty_messages.clear()
                t.dirty_parts.clear()
                t.session_dirty = False
            try:
                self._repo.delete_messages(removed)
                self._repo.save(session, seq, messages, parts)
            except Exception:
                # Put the work back so the next flush retries it; nothing is dropped.
                with stream.lock:
                    t.dirty_messages.update(m["id"] for m in messages)
                    t.dirty_parts.update(p["id"] for _, p in parts)
                    t.session_dirty = True
                    t.removed_messages.update(removed)
                raise
            stream.persisted_seq = seq
