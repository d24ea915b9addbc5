"""New log lines as they are written, over WebSocket with SSE as the fallback.

The follower (nexus/logs/follower.py) publishes every new line on the bus; each client
gets the lines matching its own filter (query parameters, as for `/api/logs`), cleaned
again for secrets. First message: `hello` with where following starts; then
`{"type": "logs.lines", "data": {"lines": [...]}}` per batch.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from flask import Response, stream_with_context

from nexus.logs.follower import TOPIC
from nexus.logs.reader import LogFilter
from nexus.logs.redact import redact_entry
from nexus.ui.api_logs import log_filter
from nexus.ui.bus_events import events_with_heartbeats
from nexus.ui.context import closing, runtime
from nexus.ui.errors import ApiError


def _messages(filters: LogFilter) -> Iterator[dict[str, Any] | None]:
    """Messages to send, and None when a heartbeat is due."""
    rt = runtime()
    stop = closing()
    with rt.bus.subscribe([TOPIC], maxsize=200) as sub:
        follower = rt.log_follower
        yield {"type": "hello", "data": {"following": follower.position() if follower is not None else None}}
        for event in events_with_heartbeats(sub, stop):
            if event is None:
                yield None
                continue
            lines = [redact_entry(e) for e in event.data["lines"] if filters.matches(e)]
            if lines:
                yield {"type": TOPIC, "data": {"lines": lines, "dropped": sub.dropped}}


def logs_stream_ws(ws: Any) -> None:
    try:
        filters = log_filter()
    except ApiError as exc:  # the handshake is done already: say why, then close
        ws.send(json.dumps({"type": "error", "data": {"message": exc.message}}))
        ws.close(1008, "bad filter")
        return
    for message in _messages(filters):
        if message is None:
            if not ws.connected:  # gone without a word: end here rather than at the next line
                return
            continue
        ws.send(json.dumps(message, separators=(",", ":"), ensure_ascii=False))
    ws.close(1001, "Nexus is shutting down")


def logs_stream_sse() -> Response:
    filters = log_filter()  # a bad filter is a plain 400 here

    def generate() -> Iterator[str]:
        yield "retry: 1000\n\n"
        for message in _messages(filters):
            if message is None:
                yield ": ping\n\n"
            else:
                yield f"data: {json.dumps(message, separators=(',', ':'), ensure_ascii=False)}\n\n"

    return Response(stream_with_context(generate()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
