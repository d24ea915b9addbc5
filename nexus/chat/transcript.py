"""A session's transcript as state: applying events to it gives what the UI shows.

The hub applies every event here before relaying it, so a snapshot is always exactly the
sum of the events a client would have seen; the transcript writer persists the messages
and parts this marks dirty.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from nexus.chat import events as ev

# Memory stays bounded in a long session: a finished and saved message keeps its parts (the
# text, the bulk) only while it is among the newest KEEP_PARTS_OF messages AND the newest
# messages' text, counted from the newest, fits in KEEP_TEXT_BYTES (the newest KEEP_AT_LEAST
# always keep theirs). Older ones keep their few fields and release their parts from memory;
# they stay in the store, where the page loads older messages from. So a session holds at
# most ~KEEP_TEXT_BYTES of text however long or wordy it is, and a busy session reaches that
# bound within a few replies instead of after sixty. Only for engines that keep the
# conversation themselves: the Anthropic engine resends the whole transcript with each prompt.
KEEP_PARTS_OF = 60
KEEP_TEXT_BYTES = 128 * 1024
KEEP_AT_LEAST = 4
RELEASING_ENGINES = frozenset({"opencode"})
# A released message's few fields (~1.4 kB each, with the engine's own record of it) are let go
# too once it is older than the newest KEEP_MESSAGES: a page is drawn with the newest
# SNAPSHOT_MESSAGES (50) and loads what is older from the store. `horizon` is then the newest
# message id let go: OpenCode's message ids ascend with time, so an event about a message at or
# below it is about one that only the store holds now, and is not announced as new.
KEEP_MESSAGES = 100


def beyond_horizon(message_id: str, horizon: str | None) -> bool:
    """Whether a message id is at or below a horizon (see KEEP_MESSAGES)."""
    return horizon is not None and message_id <= horizon


def part_weight(part: dict[str, Any]) -> int:
    """About how much memory a part's content holds: the length of its strings, one level
    into its dicts and lists (a tool's input and output, a patch's files)."""
    total = 0
    for value in part.values():
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, dict | list):
            for inner in value.values() if isinstance(value, dict) else value:
                total += len(inner) if isinstance(inner, str) else 64
    return total


def first_kept(weights: list[int]) -> int:
    """Given each message's weight, oldest first: the index of the oldest message that keeps
    its parts (len(weights) when none needs to)."""
    total = kept = 0
    for weight in reversed(weights):
        if kept >= KEEP_PARTS_OF or (kept >= KEEP_AT_LEAST and total + weight > KEEP_TEXT_BYTES):
            break
        total += weight
        kept += 1
    return len(weights) - kept


def forgettable(order: list[str], released: set[str]) -> list[str]:
    """Of message ids oldest first, the released ones older than the newest KEEP_MESSAGES."""
    return [message_id for message_id in order[:max(len(order) - KEEP_MESSAGES, 0)] if message_id in released]


class Transcript:
    def __init__(self, session: dict[str, Any], messages: list[dict[str, Any]] | None = None,
                 has_more: bool = False) -> None:
        self.session = session
        self.messages: dict[str, dict[str, Any]] = {}
        self._parts: dict[str, dict[str, Any]] = {}  # part id -> part (also inside its message)
        for message in messages or []:
            self._add_message(message)
        self.has_more = has_more
        self.status: dict[str, Any] = {"status": session.get("status") or "idle"}
        self.permissions: dict[str, dict[str, Any]] = {}
        self.questions: dict[str, dict[str, Any]] = {}
        self.queue: list[dict[str, Any]] = []
        self.dirty_messages: set[str] = set()
        self.dirty_parts: set[str] = set()
        self.session_dirty = False
        self.removed_messages: set[str] = set()  # to delete from the store
        self.released: set[str] = set()  # ids of messages whose parts were let go (see KEEP_PARTS_OF)
        self.horizon: str | None = None  # the newest id of the messages let go entirely (KEEP_MESSAGES)
        self.release_old_parts()

    # ----- reading --------------------------------------------------------------------------

    def part(self, part_id: str) -> dict[str, Any] | None:
        return self._parts.get(part_id)

    def snapshot(self, limit: int | None = None) -> dict[str, Any]:
        """The whole state; with `limit`, what a page is drawn with: at most the newest `limit`
        messages and none older than the newest released one (its parts are only in the store;
        the page loads it, and what is older, from there)."""
        messages = list(self.messages.values())
        has_more = self.has_more
        if limit is not None:
            start = max(len(messages) - limit, 0)
            if self.released:
                start = max(start, max((i + 1 for i, m in enumerate(messages) if m["id"] in self.released), default=0))
            if start:
                messages, has_more = messages[start:], True
        return {"session": copy.deepcopy(self.session), "messages": copy.deepcopy(messages),
                "permissions": list(copy.deepcopy(self.permissions).values()),
                "questions": list(copy.deepcopy(self.questions).values()), "queue": copy.deepcopy(self.queue),
                "status": dict(self.status),
                "has_more": has_more}

    def state(self) -> dict[str, Any]:
        """What an engine's mapper is seeded with after a restart: the whole snapshot, the
        messages whose parts are only in the store ("released", KEEP_PARTS_OF) and the newest
        id of the messages only the store holds ("horizon", KEEP_MESSAGES)."""
        return {**self.snapshot(), "released": sorted(self.released), "horizon": self.horizon}

    # ----- applying events ------------------------------------------------------------------

    def apply(self, type_: str, data: dict[str, Any]) -> None:
        handler = _HANDLERS.get(type_)
        if handler is None:
            return
        message = data.get("message")
        message_id = data.get("message_id") or (message.get("id") if isinstance(message, dict) else None)
        if (isinstance(message_id, str) and beyond_horizon(message_id, self.horizon)
                and message_id not in self.messages and type_ != ev.MESSAGE_REMOVED):
            return  # about a message only the store holds now: it is not drawn again as new
        handler(self, data)

    def _add_message(self, message: dict[str, Any]) -> dict[str, Any]:
        message = {**_blank_message(message["id"]), **message}
        message["parts"] = list(message.get("parts") or [])
        self.messages[message["id"]] = message
        for part in message["parts"]:
            self._parts[part["id"]] = part
        return message

    def _message(self, message_id: str) -> dict[str, Any]:
        message = self.messages.get(message_id)
        if message is None:  # a part can arrive before its message on a reconnect
            message = self._add_message({"id": message_id, "role": "assistant", "created_at": time.time()})
            self.dirty_messages.add(message_id)
        return message

    def _on_session_updated(self, data: dict[str, Any]) -> None:
        self.session.update(data["session"])
        self.session_dirty = True

    def _on_status(self, data: dict[str, Any]) -> None:
        self.status = dict(data)
        self.session["status"] = data["status"]
        self.session_dirty = True

    def _on_message_start(self, data: dict[str, Any]) -> None:
        incoming = data["message"]
        existing = self.messages.get(incoming["id"])
        if existing is None:
            self._add_message({**incoming, "parts": []})
        else:
            existing.update({k: v for k, v in incoming.items() if k != "parts"})
        self.dirty_messages.add(incoming["id"])

    def _on_part(self, data: dict[str, Any]) -> None:
        part = dict(data["part"])
        message = self._message(data["message_id"])
        current = self._parts.get(part["id"])
        if current is None:
            message["parts"].append(part)
        else:
            current.clear()
            current.update(part)
            part = current
        self._parts[part["id"]] = part
        part["message_id"] = data["message_id"]
        self.dirty_parts.add(part["id"])

    def _on_delta(self, data: dict[str, Any], kind: str) -> None:
        part = self._parts.get(data["part_id"])
        if part is None:
            self._on_part({"message_id": data["message_id"], "part": {"id": data["part_id"], "kind": kind, "text": ""}})
            part = self._parts[data["part_id"]]
        part["text"] = (part.get("text") or "") + data["delta"]
        self.dirty_parts.add(part["id"])

    def _on_usage(self, data: dict[str, Any]) -> None:
        # The session's totals move by this message's change, so they stay right when older
        # messages are not in memory (a long session loads its newest 500; see KEEP_MESSAGES).
        message = self._message(data["message_id"])
        before, before_cost = message.get("tokens") or {}, float(message.get("cost") or 0.0)
        message["tokens"] = dict(data["tokens"])
        message["cost"] = data["cost"]
        self.dirty_messages.add(message["id"])
        totals = dict(self.session.get("tokens") or ev.empty_tokens())
        for key in ev.empty_tokens():
            totals[key] = int(totals.get(key) or 0) + int(message["tokens"].get(key) or 0) - int(before.get(key) or 0)
        self.session["tokens"] = totals
        self.session["cost"] = round(float(self.session.get("cost") or 0.0) + float(data["cost"] or 0.0) - before_cost, 6)
        self.session_dirty = True

    def _on_message_end(self, data: dict[str, Any]) -> None:
        message = self._message(data["message_id"])
        message["finish"] = data.get("finish")
        message["error"] = data.get("error")
        message["completed_at"] = data.get("completed_at") or time.time()
        self.dirty_messages.add(message["id"])
        self.release_old_parts()

    def release_old_parts(self) -> int:
        """Let go of the parts of finished, saved messages older than the ones the policy above
        keeps, and of released messages older than the newest KEEP_MESSAGES; returns how many
        messages released their parts now."""
        if self.session.get("engine") not in RELEASING_ENGINES or len(self.messages) <= KEEP_AT_LEAST:
            return 0
        messages = list(self.messages.values())
        weights = [sum(part_weight(p) for p in m["parts"]) for m in messages]
        released = 0
        for message in messages[:first_kept(weights)]:
            if message["id"] in self.released or not message.get("completed_at") \
                    or message["id"] in self.dirty_messages or any(p["id"] in self.dirty_parts for p in message["parts"]):
                continue  # still streaming, or not saved yet: the next end looks again
            for part in message["parts"]:
                self._parts.pop(part["id"], None)
            message["parts"] = []
            self.released.add(message["id"])
            released += 1
        self._forget_old_messages()
        return released

    def _forget_old_messages(self) -> None:
        for message_id in forgettable(list(self.messages), self.released):
            del self.messages[message_id]
            self.released.discard(message_id)
            self.horizon = max(self.horizon or message_id, message_id)
            self.has_more = True

    def _on_permission_asked(self, data: dict[str, Any]) -> None:
        permission = data["permission"]
        self.permissions[permission["id"]] = permission

    def _on_permission_answered(self, data: dict[str, Any]) -> None:
        self.permissions.pop(data["permission_id"], None)

    def _on_question_asked(self, data: dict[str, Any]) -> None:
        question = data["question"]
        self.questions[question["id"]] = question

    def _on_question_answered(self, data: dict[str, Any]) -> None:
        self.questions.pop(data["question_id"], None)

    def _on_queue_updated(self, data: dict[str, Any]) -> None:
        self.queue = list(data["queue"])
    def _on_todo_updated(self, data: dict[str, Any]) -> None:
        self.session["todos"] = list(data.get("todos") or [])
        self.session_dirty = True

    def _on_message_removed(self, data: dict[str, Any]) -> None:
        message = self.messages.pop(data["message_id"], None)
        if message is None:
            if beyond_horizon(data["message_id"], self.horizon):
                self.removed_messages.add(data["message_id"])  # only the store still has it
            return
        for part in message["parts"]:
            self._parts.pop(part["id"], None)
            self.dirty_parts.discard(part["id"])
        self.dirty_messages.discard(message["id"])
        self.released.discard(message["id"])
        self.removed_messages.add(message["id"])

    def _on_snapshot(self, data: dict[str, Any]) -> None:
        pass  # snapshots are derived from this state, never applied to it


def _blank_message(message_id: str) -> dict[str, Any]:
    return {"id": message_id, "role": "assistant", "created_at": None, "completed_at": None, "agent": None,
            "model": None, "finish": None, "error": None, "tokens": ev.empty_tokens(), "cost": 0.0, "parts": []}


_HANDLERS = {
    ev.SESSION_UPDATED: Transcript._on_session_updated,
    ev.SESSION_STATUS: Transcript._on_status,
    ev.MESSAGE_START: Transcript._on_message_start,
    ev.PART_UPDATE: Transcript._on_part,
    ev.TOOL_START: Transcript._on_part,
    ev.TOOL_UPDATE: Transcript._on_part,
    ev.TOOL_END: Transcript._on_part,
    ev.TEXT_DELTA: lambda t, d: t._on_delta(d, "text"),
    ev.REASONING_DELTA: lambda t, d: t._on_delta(d, "reasoning"),
    ev.USAGE: Transcript._on_usage,
    ev.MESSAGE_END: Transcript._on_message_end,
    ev.PERMISSION_ASKED: Transcript._on_permission_asked,
    ev.PERMISSION_ANSWERED: Transcript._on_permission_answered,
    ev.QUESTION_ASKED: Transcript._on_question_asked,
    ev.QUESTION_ANSWERED: Transcript._on_question_answered,
    ev.QUEUE_UPDATED: Transcript._on_queue_updated,
    ev.SNAPSHOT: Transcript._on_snapshot,
    ev.TODO_UPDATED: Transcript._on_todo_updated,
    ev.MESSAGE_REMOVED: Transcript._on_message_removed,
}
