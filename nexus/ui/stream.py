"""The live stream of server status and metrics, over WebSocket with SSE as the fallback.

Both transports send the same JSON messages: first a `hello` with the current status and
recent metrics, then every bus event on the streamed topics, and `{"type": "ping"}` after
15 s of quiet. The transport is nexus/ui/live.py.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Response, request

from nexus.bus import Event, Subscription
from nexus.runtime import Runtime
from nexus.ui.context import closing, runtime
from nexus.ui.errors import ApiError
from nexus.ui.live import dump, serve_sse, serve_websocket

TOPICS = ("server.", "settings.changed", "tunnel.state", "notifications.", "chat.session")
MAX_BATCH = 500


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


def drain(sub: Subscription, wake: threading.Event, limit: int = MAX_BATCH) -> list[Event]:
    """Up to `limit` waiting events; if that many, `wake` is set so the rest go next round."""
    out: list[Event] = []
    while len(out) < limit and (event := sub.get(timeout=0)) is not None:
        out.append(event)
    if len(out) == limit:
        wake.set()
    return out


class StatusFeed:
    """Bus events on some topics, after a hello with the state they change."""

    def __init__(self, rt: Runtime, topics: tuple[str, ...]) -> None:
        self.wake = threading.Event()
        self._rt = rt
        self._topics = topics
        self._sub = rt.bus.subscribe(topics, maxsize=500, wake=self.wake)

    def opening(self) -> list[str]:
        rt = self._rt
        data: dict[str, Any] = {"unread": rt.notifications.unread_count()}
        if "server." in self._topics:
            # Enough per-second samples to fill the dashboard's charts at once.
            data.update(status=rt.supervisor.status(), metrics=rt.metrics.history()[-300:])
        if "tunnel.state" in self._topics:
            data["tunnel"] = rt.tunnel.status()
        return [dump({"type": "hello", "data": data})]

    def take(self) -> list[str]:
        return [dump(event.to_json()) for event in drain(self._sub, wake=self.wake)]

    def handle(self, raw: Any) -> list[str]:
        return []  # nothing is read from the client

    def cut_off(self) -> str | None:
        return None  # a slow reader loses its oldest events (the bus's rule), never the connection

    def close(self) -> None:
        self._sub.close()


def stream_ws(ws: Any) -> None:
    try:
        topics = _requested_topics()
    except ApiError as exc:  # the handshake is done: say why in the close frame
        ws.close(1008, str(exc)[:120])
        return
    serve_websocket(ws, StatusFeed(runtime(), topics), closing())


def stream_sse() -> Response:
    return serve_sse(StatusFeed(runtime(), _requested_topics()), closing())
