"""New log lines as they are written, over WebSocket with SSE as the fallback.

The follower (nexus/logs/follower.py) publishes every new line on the bus; each client
gets the lines matching its own filter (query parameters, as for `/api/logs`), cleaned
again for secrets. First message: `hello` with where following starts; then
`{"type": "logs.lines", "data": {"lines": [...]}}` per batch, and `{"type": "ping"}` after
15 s of quiet. The transport is nexus/ui/live.py.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Response

from nexus.logs.follower import TOPIC
from nexus.logs.reader import LogFilter
from nexus.logs.redaction import redact_entry
from nexus.runtime import Runtime
from nexus.ui.api_logs import log_filter
from nexus.ui.context import closing, runtime
from nexus.ui.errors import ApiError
from nexus.ui.live import dump, serve_sse, serve_websocket
from nexus.ui.stream import drain


class LogsFeed:
    def __init__(self, rt: Runtime, filters: LogFilter) -> None:
        self.wake = threading.Event()
        self._rt = rt
        self._filters = filters
        self._sub = rt.bus.subscribe([TOPIC], maxsize=200, wake=self.wake)

    def opening(self) -> list[str]:
        follower = self._rt.log_follower
        return [dump({"type": "hello", "data": {"following": follower.position() if follower is not None else None}})]

    def take(self) -> list[str]:
        out = []
        for event in drain(self._sub, self.wake):
            lines = [redact_entry(e) for e in event.data["lines"] if self._filters.matches(e)]
            if lines:
                out.append(dump({"type": TOPIC, "data": {"lines": lines, "dropped": self._sub.dropped}}))
        return out

    def handle(self, raw: Any) -> list[str]:
        return []

    def cut_off(self) -> str | None:
        return None

    def close(self) -> None:
        self._sub.close()


def logs_stream_ws(ws: Any) -> None:
    try:
        filters = log_filter()
    except ApiError as exc:  # the handshake is done already: say why, then close
        ws.send(dump({"type": "error", "data": {"message": exc.message}}))
        ws.close(1008, "bad filter")
        return
    serve_websocket(ws, LogsFeed(runtime(), filters), closing())


def logs_stream_sse() -> Response:
    filters = log_filter()  # a bad filter is a plain 400 here
    return serve_sse(LogsFeed(runtime(), filters), closing())
