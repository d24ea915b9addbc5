"""The live stream of server status and metrics, over WebSocket with SSE as the fallback.

Both transports send the same JSON messages: first a `hello` with the current status and
recent metrics, then every bus event on the streamed topics. Heartbeats (WebSocket pings,
SSE comments) keep proxies and tunnels from closing an idle stream.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterator

from flask import Response, stream_with_context

from nexus.ui.bus_events import events_with_heartbeats
from nexus.ui.context import closing, runtime

log = logging.getLogger(__name__)

TOPICS = ("server.", "settings.changed")
HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 0.5


def _hello() -> dict[str, Any]:
    rt = runtime()
    history = rt.metrics.history()
    return {"type": "hello", "data": {"status": rt.supervisor.status(), "metrics": history[-120:]}}


def _messages() -> Iterator[dict[str, Any] | None]:
    """Yields messages to send, and None when a heartbeat is due."""
    rt = runtime()
    stop = closing()
    with rt.bus.subscribe(TOPICS, maxsize=500) as sub:
        yield _hello()
        for event in events_with_heartbeats(sub, stop, HEARTBEAT_SECONDS, POLL_SECONDS):
            yield None if event is None else event.to_json()


def stream_ws(ws: Any) -> None:
    # flask-sock pings on its own (SOCK_SERVER_OPTIONS); nothing is read from the client.
    for message in _messages():
        if message is not None:
            ws.send(json.dumps(message, separators=(",", ":")))
    ws.close(1001, "Nexus is shutting down")


def stream_sse() -> Response:
    def generate() -> Iterator[str]:
        yield "retry: 1000\n\n"
        for message in _messages():
            if message is None:
                yield ": ping\n\n"
            else:
                yield f"data: {json.dumps(message, separators=(',', ':'))}\n\n"

    return Response(stream_with_context(generate()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
