"""At most `MAX_WEBSOCKETS_PER_CLIENT` open live connections per client address.

Each WebSocket holds a handler thread and a reader thread for as long as it is open, and
each SSE stream (the WebSocket's fallback) a handler thread, so one client (a stranger
through the tunnel, or a runaway script here) could otherwise hold hundreds. Both count
against the same cap; an SSE stream over it is answered 429 with the project's JSON error. The address is the one Nexus uses everywhere else (`security.client_ip`):
Cloudflare's client address header through the tunnel, the socket's address locally. One
more connection than the cap is accepted and closed at once with code 1008 and a reason
a person can read, so the page says why instead of retrying blindly. The cap can be set
with the app config key `NEXUS_WEBSOCKETS_PER_CLIENT`.
"""

from __future__ import annotations

import collections
import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Response, current_app

from nexus.ui.errors import ApiError
from nexus.ui.security import client_ip

log = logging.getLogger(__name__)

# A browser tab holds one or two (chat, notifications) plus one per open terminal; the
# desktop window and every local tab share 127.0.0.1.
MAX_WEBSOCKETS_PER_CLIENT = 32
CLOSE_CODE = 1008  # policy violation


class WebSocketCap:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: collections.Counter[str] = collections.Counter()

    def acquire(self, address: str, limit: int) -> bool:
        with self._lock:
            if self._open[address] >= limit:
                return False
            self._open[address] += 1
            return True

    def release(self, address: str) -> None:
        with self._lock:
            self._open[address] -= 1
            if self._open[address] <= 0:
                del self._open[address]

    def count(self, address: str) -> int:
        with self._lock:
            return self._open.get(address, 0)


def _cap() -> tuple[WebSocketCap, int]:
    return (current_app.extensions["nexus.websocket_cap"],
            int(current_app.config.get("NEXUS_WEBSOCKETS_PER_CLIENT", MAX_WEBSOCKETS_PER_CLIENT)))


def capped(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a flask-sock view so it counts against its client's cap."""

    @functools.wraps(view)
    def run(ws: Any, *args: Any, **kwargs: Any) -> Any:
        cap, limit = _cap()
        address = client_ip()
        if not cap.acquire(address, limit):
            log.info("refused a WebSocket from %s: %d already open", address, limit)
            ws.close(CLOSE_CODE, f"Too many live connections from your address (at most {limit}); "
                                 "close other tabs or terminals.")
            return None
        try:
            return view(ws, *args, **kwargs)
        finally:
            cap.release(address)

    return run


def capped_stream(view: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap an SSE view: it counts against the same cap until its response is closed."""

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Response:
        cap, limit = _cap()
        address = client_ip()
        if not cap.acquire(address, limit):
            raise ApiError(429, f"Too many live connections from your address (at most {limit}); close other tabs "
                                "or terminals.", "too_many_connections")
        try:
            response = view(*args, **kwargs)
        except BaseException:
            cap.release(address)
            raise
        response.call_on_close(lambda: cap.release(address))
        return response

    return run
