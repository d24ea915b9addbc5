"""The queue's own promises, without an engine: a message leaves the queue (and clients hear
so) before the turn it starts says anything, and a send that fails leaves it queued. Real
SQLite through the runtime's store."""

from __future__ import annotations

from typing import Any

import pytest

from nexus.chat.queue import PromptQueue
from nexus.runtime import Runtime


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.fail = False

    def emit(self, session_id: str, kind: str, data: dict[str, Any]) -> None:
        self.events.append((kind, data))

    def send(self, session_id: str, message: dict[str, Any]) -> None:
        if self.fail:
            raise ConnectionError("engine down")
        # A fast engine: the whole turn happens inside the hand-over.
        self.emit(session_id, "message.end", {"text": message["text"]})


@pytest.fixture
def queue(runtime: Runtime) -> tuple[PromptQueue, Recorder, dict[str, str]]:
    runtime.chat.repo.create_session({"id": "s1", "engine": "opencode", "title": "queue"})
    recorder = Recorder()
    status = {"s1": "busy"}
    return PromptQueue(runtime.chat.pending, send=recorder.send, status_of=status.__getitem__,
                       emit=recorder.emit), recorder, status


def test_the_queue_empties_before_the_turn_it_starts_speaks(queue) -> None:
    q, recorder, status = queue
    assert q.submit("s1", {"text": "later"})["queued"] is True
    recorder.events.clear()
    status["s1"] = "idle"
    assert q.send_next("s1") is True
    kinds = [kind for kind, _ in recorder.events]
    assert kinds == ["queue.updated", "message.end"], recorder.events
    assert recorder.events[0][1]["queue"] == [] and q.items("s1") == []


def test_a_failed_send_keeps_the_message_queued_and_says_so(queue) -> None:
    q, recorder, status = queue
    q.submit("s1", {"text": "later"})
    recorder.events.clear()
    status["s1"] = "idle"
    recorder.fail = True
    assert q.send_next("s1") is False
    assert [i["text"] for i in q.items("s1")] == ["later"]
    kinds = [kind for kind, _ in recorder.events]
    assert kinds == ["queue.updated", "queue.updated", "error"], recorder.events
    assert [i["text"] for i in recorder.events[1][1]["queue"]] == ["later"], "the last word: still queued"
    recorder.fail = False
    assert q.send_next("s1") is True and q.items("s1") == []
