"""The live chat stream: one connection per browser tab, carrying every session it follows.

WebSocket: the client sends `{"op": "follow", "session": ID, "after": SEQ, "epoch": E}` and
`{"op": "unfollow", "session": ID}`; the server sends `{"type": "hello", "epoch": E}` and then
events `{"session", "seq", "type", "at", "data"}` (nexus/chat/events.py). SSE fallback:
`?follow=ID:EPOCH:SEQ,ID2::` names the sessions up front (the client reconnects to change
them). Either way a client gets what it missed after SEQ, in order, exactly once.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterator

from flask import Response, request, stream_with_context
from simple_websocket import ConnectionClosed

from nexus.chat.service import ChatError
from nexus.ui.context import closing, runtime
from nexus.ui.errors import ApiError

log = logging.getLogger(__name__)

WAIT = 0.1
HEARTBEAT = 15.0
MAX_FOLLOWED = 50


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _follow(client, session: Any, after: Any, epoch: Any) -> str | None:
    """Start following; returns an error message for the client, or None."""
    if not isinstance(session, str) or (after is not None and not isinstance(after, int)):
        return "follow needs a session id and an optional integer 'after'"
    if len(client.sessions) >= MAX_FOLLOWED and session not in client.sessions:
        return f"a connection follows at most {MAX_FOLLOWED} sessions"
    try:
        runtime().chat.follow(client, session, after, epoch if isinstance(epoch, str) else None)
    except (ChatError, KeyError):
        return f"no such session: {session}"
    return None


def chat_stream_ws(ws: Any) -> None:
    chat = runtime().chat
    stop = closing()
    client = chat.hub.client()
    try:
        ws.send(_dump({"type": "hello", "epoch": chat.hub.epoch}))
        while not stop.is_set() and ws.connected:
            while (raw := ws.receive(timeout=0)) is not None:
                _handle_op(ws, client, raw)
            event = client.get(timeout=WAIT)
            while event is not None:
                ws.send(_dump(event.to_json()))
                event = client.get(timeout=0)
            if client.overflowed:
                ws.close(1013, "too far behind; reconnect with your last sequence numbers")
                return
    except ConnectionClosed:
        pass
    finally:
        client.close()


def _handle_op(ws: Any, client, raw: Any) -> None:
    try:
        op = json.loads(raw)
    except (TypeError, ValueError):
        ws.send(_dump({"type": "error", "data": {"message": "messages must be JSON"}}))
        return
    if not isinstance(op, dict):
        ws.send(_dump({"type": "error", "data": {"message": "messages must be JSON objects"}}))
        return
    if op.get("op") == "follow":
        problem = _follow(client, op.get("session"), op.get("after"), op.get("epoch"))
        if problem:
            ws.send(_dump({"type": "error", "session": op.get("session"), "data": {"message": problem}}))
    elif op.get("op") == "unfollow" and isinstance(op.get("session"), str):
        client.unfollow(op["session"])
    else:
        ws.send(_dump({"type": "error", "data": {"message": "unknown op; use follow or unfollow"}}))


def chat_stream_sse() -> Response:
    chat = runtime().chat
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
    if follows and len(problems) == len(follows):
        client.close()
        raise ApiError(404, "; ".join(problems), "not_found")
    stop = closing()

    def generate() -> Iterator[str]:
        try:
            yield "retry: 1000\n\n"
            yield f"data: {_dump({'type': 'hello', 'epoch': chat.hub.epoch})}\n\n"
            for problem in problems:
                yield f"data: {_dump({'type': 'error', 'data': {'message': problem}})}\n\n"
            idle = 0.0
            while not stop.is_set() and not client.overflowed:
                event = client.get(timeout=0.5)
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
            client.close()

    return Response(stream_with_context(generate()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
