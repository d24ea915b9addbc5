"""The live chat stream: one connection per browser tab, carrying every session it follows.

WebSocket: the client sends `{"op": "follow", "session": ID, "after": SEQ, "epoch": E}` and
`{"op": "unfollow", "session": ID}`; the server sends `{"type": "hello", "epoch": E}` and then
events `{"session", "seq", "type", "at", "data"}` (nexus/chat/events.py) — one per frame, or
a JSON array of them when several were waiting. SSE fallback:
`?follow=ID:EPOCH:SEQ,ID2::` names the sessions up front (the client reconnects to change
them). Either way a client gets what it missed after SEQ, in order, exactly once.

Besides session events: `{"type": "sessions.changed", "data": {"session_id", "change"}}` when
the list of sessions changes (created, renamed, archived, reopened, deleted, restored — in
another tab or by a script), `{"type": "ping"}` after 15 s of quiet (so a page notices a
dead connection), and `{"type": "error", "session"?, "data": {"message", "code"}}`.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Iterator

from flask import Response, request, stream_with_context
from simple_websocket import ConnectionClosed

from nexus.chat.service import SESSIONS_TOPIC, ChatError
from nexus.ui.context import closing, runtime

log = logging.getLogger(__name__)

WAIT = 0.1
HEARTBEAT = 15.0
MAX_FOLLOWED = 50
MAX_BATCH = 500


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _follow(client, session: Any, after: Any, epoch: Any) -> dict[str, Any] | None:
    """Start following; returns an error message for the client, or None."""
    if not isinstance(session, str) or (after is not None and not isinstance(after, int)):
        return _error("follow needs a session id and an optional integer 'after'", "bad_request")
    if len(client.sessions) >= MAX_FOLLOWED and session not in client.sessions:
        return _error(f"a connection follows at most {MAX_FOLLOWED} sessions", "too_many", session)
    try:
        runtime().chat.follow(client, session, after, epoch if isinstance(epoch, str) else None)
    except (ChatError, KeyError):
        return _error(f"no such session: {session}", "not_found", session)
    return None


def _error(message: str, code: str, session: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "error", "data": {"message": message, "code": code}}
    if session is not None:
        error["session"] = session
    return error


def _list_change(event: Any) -> dict[str, Any]:
    return {"type": "sessions.changed", "data": {"session_id": event.data["session_id"],
                                                 "change": event.data["change"]}}


def chat_stream_ws(ws: Any) -> None:
    rt = runtime()
    chat = rt.chat
    stop = closing()
    client = chat.hub.client()
    sessions = rt.bus.subscribe([SESSIONS_TOPIC], maxsize=200)
    try:
        ws.send(_dump({"type": "hello", "epoch": chat.hub.epoch}))
        last_sent = time.monotonic()
        while not stop.is_set() and ws.connected:
            while (raw := ws.receive(timeout=0)) is not None:
                _handle_op(ws, client, raw)
            event = client.get(timeout=WAIT)
            if event is not None:
                # What queued up meanwhile goes in the same frame: one frame per event costs
                # more than the event (framing, a syscall each) when many sessions stream.
                batch = [event.to_json()]
                while len(batch) < MAX_BATCH and (more := client.get(timeout=0)) is not None:
                    batch.append(more.to_json())
                ws.send(_dump(batch[0]) if len(batch) == 1 else _dump(batch))
                last_sent = time.monotonic()
            while (change := sessions.get(timeout=0)) is not None:
                ws.send(_dump(_list_change(change)))
                last_sent = time.monotonic()
            if client.overflowed:
                ws.close(1013, "too far behind; reconnect with your last sequence numbers")
                return
            if time.monotonic() - last_sent >= HEARTBEAT:
                # A message the page can see (WebSocket pings are invisible to scripts), so
                # it notices a half-open connection and reconnects.
                ws.send(_dump({"type": "ping"}))
                last_sent = time.monotonic()
    except ConnectionClosed:
        pass
    finally:
        sessions.close()
        client.close()


def _handle_op(ws: Any, client, raw: Any) -> None:
    try:
        op = json.loads(raw)
    except (TypeError, ValueError):
        ws.send(_dump(_error("messages must be JSON", "bad_request")))
        return
    if not isinstance(op, dict):
        ws.send(_dump(_error("messages must be JSON objects", "bad_request")))
        return
    if op.get("op") == "follow":
        problem = _follow(client, op.get("session"), op.get("after"), op.get("epoch"))
        if problem:
            ws.send(_dump(problem))
    elif op.get("op") == "unfollow" and isinstance(op.get("session"), str):
        client.unfollow(op["session"])
    else:
        ws.send(_dump(_error("unknown op; use follow or unfollow", "bad_request")))


def chat_stream_sse() -> Response:
    rt = runtime()
    chat = rt.chat
    client = chat.hub.client()
    follows = [item for item in (request.args.get("follow") or "").split(",") if item][:MAX_FOLLOWED]
    problems = []
    for item in follows:
        session, _, rest = item.partition(":")
        epoch, _, after = rest.partition(":")
        try:
            after_seq = int(after) if after else None
        except ValueError:
            after_seq = None
        problem = _follow(client, session, after_seq, epoch or None)
        if problem:
            problems.append(problem)
    # Problems go down the stream as error events: an error status would only make
    # EventSource retry the same request forever.
    stop = closing()
    sessions = rt.bus.subscribe([SESSIONS_TOPIC], maxsize=200)

    def generate() -> Iterator[str]:
        try:
            yield "retry: 1000\n\n"
            yield f"data: {_dump({'type': 'hello', 'epoch': chat.hub.epoch})}\n\n"
            for problem in problems:
                yield f"data: {_dump(problem)}\n\n"
            idle = 0.0
            while not stop.is_set() and not client.overflowed:
                event = client.get(timeout=0.5)
                changes = []
                while (change := sessions.get(timeout=0)) is not None:
                    changes.append(f"data: {_dump(_list_change(change))}\n\n")
                if changes:
                    idle = 0.0
                    yield "".join(changes)
                if event is None:
                    idle += 0.5
                    if idle >= HEARTBEAT:
                        idle = 0.0
                        yield ": ping\n\n"
                    continue
                idle = 0.0
                chunk = [f"data: {_dump(event.to_json())}\n\n"]
                while (more := client.get(timeout=0)) is not None:
                    chunk.append(f"data: {_dump(more.to_json())}\n\n")
                yield "".join(chunk)
        finally:
            sessions.close()
            client.close()

    return Response(stream_with_context(generate()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
