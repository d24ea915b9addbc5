"""The live stream of server status and metrics, over WebSocket with SSE as the fallback.

Both transports send the same JSON messages: first a `hello` with the current status and
recent metrics, then every bus event on the streamed topics. Heartbeats (WebSocket pings,
SSE comments) keep proxies and tunnels from closing an idle stream.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterator

from flask import Response, request, stream_with_context

from nexus.ui.bus_events import events_with_heartbeats
from nexus.ui.context import closing, runtime
from nexus.ui.errors import ApiError

log = logging.getLogger(__name__)

TOPICS = ("server.", "settings.changed", "tunnel.state", "notifications.", "chat.session")
HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 0.5


def _hello(topics: tuple[str, ...]) -> dict[str, Any]:
    rt = runtime()
    data: dict[str, Any] = {"unread": rt.notifications.repo.unread_count()}
    if "server." in topics:
        # Enough per-second samples to fill the dashboard's charts at once.
        data.update(status=rt.supervisor.status(), metrics=rt.metrics.history()[-300:])
    if "tunnel.state" in topics:
        data["tunnel"] = rt.tunnel.status()
    return {"type": "hello", "data": data}


def _requested_topics() -> tuple[str, ...]:
    """`?topics=notifications.,chat.session` narrows the stream (a page's global parts need
    only a few topics, not a metrics sample every second)."""
    raw = request.args.get("topics", "")
    if not raw:
        return TOPICS
    wanted = tuple(t for t in raw.split(",") if t)
    unknown = [t for t in wanted if t not in TOPICS]
    if unknown:
        raise ApiError(400, f"Unknown stream topics: {', '.join(unknown)}. Known: {', '.join(TOPICS)}.",
                       "bad_parameter")
    return wanted


def _messages(topics: tuple[str, ...]) -> Iterator[dict[str, Any] | None]:
    """Yields messages to send, and None when a heartbeat is due."""
    rt = runtime()
    stop = closing()
    with rt.bus.subscribe(topics, maxsize=500) as sub:
        yield _hello(topics)
        for event in events_with_heartbeats(sub, stop, HEARTBEAT_SECONDS, POLL_SECONDS):
            yield None if event is None else event.to_json()


def stream_ws(ws: Any) -> None:
    # flask-sock pings on its own (SOCK_SERVER_OPTIONS); nothing is read from the client.
    try:
        topics = _requested_topics()
    except ApiError as exc:  # the handshake is done: say why in the close frame
        ws.close(1008, str(exc)[:120])
        return
    for message in _messages(topics):
        if message is not None:
            ws.send(json.dumps(message, separators=(",", ":")))
    ws.close(1001, "Nexus is shutting down")


def stream_sse() -> Response:
    topics = _requested_topics()

    def generate() -> Iterator[str]:
        yield "retry: 1000\n\n"
        for message in _messages(topics):
            if message is None:
                yield ": ping\n\n"
            else:
                yield f"data: {json.dumps(message, separators=(',', ':'))}\n\n"

    return Response(stream_with_context(generate()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
