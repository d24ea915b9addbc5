"""The live chat stream: one connection per browser tab, carrying every session it follows.

WebSocket: the client sends `{"op": "follow", "session": ID, "after": SEQ, "epoch": E}` and
`{"op": "unfollow", "session": ID}`; the server sends `{"type": "hello", "epoch": E}` and then
events `{"session", "seq", "type", "at", "data"}` (nexus/chat/events.py) — one per frame, or
a JSON array of them when several were waiting. SSE fallback:
`?follow=ID:EPOCH:SEQ,ID2::` names the sessions up front (the client reconnects to change
them). Either way a client gets what it missed after SEQ, in order, exactly once.

Consecutive deltas of one part that wait for the same flush arrive merged
(nexus/chat/frames.py): one `text.delta` or `reasoning.delta` with `from_seq` (the first
number it covers) and `seq` (the last).

Besides session events: `{"type": "sessions.changed", "data": {"session_id", "change"}}` when
the list of sessions changes (created, renamed, archived, reopened, deleted, restored — in
another tab or by a script), `{"type": "ping"}` after 15 s of quiet (so a page notices a
dead connection), and `{"type": "error", "session"?, "data": {"message", "code"}}`.
The transport itself is nexus/ui/live.py.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from flask import Response, request

from nexus.chat.frames import merged_wire
from nexus.chat.service import SESSIONS_TOPIC, ChatError
from nexus.runtime import Runtime
from nexus.ui.context import closing, runtime
from nexus.ui.live import dump, serve_sse, serve_websocket

MAX_FOLLOWED = 50
MAX_BATCH = 2000
TOO_FAR_BEHIND = "too far behind; reconnect with your last sequence numbers"


def _error(message: str, code: str, session: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "error", "data": {"message": message, "code": code}}
    if session is not None:
        error["session"] = session
    return error


class ChatFeed:
    """One browser tab's chat messages: the sessions it follows and the list's changes."""

    def __init__(self, rt: Runtime) -> None:
        self.wake = threading.Event()
        self._chat = rt.chat
        self.client = rt.chat.open_feed(wake=self.wake)
        self._sessions = rt.bus.subscribe([SESSIONS_TOPIC], maxsize=200, wake=self.wake)
        self._problems: list[str] = []

    def follow(self, session: Any, after: Any, epoch: Any) -> None:
        """Start following; a problem is queued for the client as an error message."""
        if not isinstance(session, str) or (after is not None and (not isinstance(after, int)
                                                                   or isinstance(after, bool))):
            problem = _error("follow needs a session id and an optional integer 'after'", "bad_request")
        elif len(self.client.sessions) >= MAX_FOLLOWED and session not in self.client.sessions:
            problem = _error(f"a connection follows at most {MAX_FOLLOWED} sessions", "too_many", session)
        else:
            try:
                self._chat.follow(self.client, session, after, epoch if isinstance(epoch, str) else None)
                return
            except (ChatError, KeyError):
                problem = _error(f"no such session: {session}", "not_found", session)
        self._problems.append(dump(problem))

    def opening(self) -> list[str]:
        return [dump({"type": "hello", "epoch": self._chat.epoch}), *self._take_problems()]

    def _take_problems(self) -> list[str]:
        problems, self._problems = self._problems, []
        return problems

    def take(self) -> list[str]:
        out = self._take_problems()
        while (change := self._sessions.get(timeout=0)) is not None:
            out.append(dump({"type": "sessions.changed", "data": {"session_id": change.data["session_id"],
                                                                 "change": change.data["change"]}}))
        events = self.client.drain(MAX_BATCH)
        if len(events) == MAX_BATCH:
            self.wake.set()  # more is waiting: the next round takes it
        return out + merged_wire(events)

    def handle(self, raw: Any) -> list[str]:
        try:
            op = json.loads(raw)
        except (TypeError, ValueError):
            return [dump(_error("messages must be JSON", "bad_request"))]
        if not isinstance(op, dict):
            return [dump(_error("messages must be JSON objects", "bad_request"))]
        if op.get("op") == "follow":
            self.follow(op.get("session"), op.get("after"), op.get("epoch"))
        elif op.get("op") == "unfollow" and isinstance(op.get("session"), str):
            self.client.unfollow(op["session"])
        else:
            return [dump(_error("unknown op; use follow or unfollow", "bad_request"))]
        return []

    def cut_off(self) -> str | None:
        return TOO_FAR_BEHIND if self.client.overflowed else None

    def close(self) -> None:
        self._sessions.close()
        self.client.close()


def chat_stream_ws(ws: Any) -> None:
    serve_websocket(ws, ChatFeed(runtime()), closing())


def chat_stream_sse() -> Response:
    feed = ChatFeed(runtime())
    for item in [item for item in (request.args.get("follow") or "").split(",") if item][:MAX_FOLLOWED]:
        session, _, rest = item.partition(":")
        epoch, _, after = rest.partition(":")
        try:
            after_seq = int(after) if after else None
        except ValueError:
            after_seq = None
        # Problems go down the stream as error events: an error status would only make
        # EventSource retry the same request forever.
        feed.follow(session, after_seq, epoch or None)
    return serve_sse(feed, closing())
