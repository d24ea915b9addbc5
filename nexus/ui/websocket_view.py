"""WebSocket routes registered without importing flask-sock at start-up (issue 16).

flask-sock imports simple-websocket, wsproto and h11 (20-60 ms of CPU before the first
request), yet only a WebSocket request needs them. A route is registered as the plain Flask
rule `Sock.route` would register (`websocket=True`, same endpoint); its first call imports
flask-sock and lets `Sock.route` itself build the view, so the handshake, the
`SOCK_SERVER_OPTIONS` (ping interval, message size), the `ConnectionClosed` handling and the
close at the end stay exactly flask-sock's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask


class _Kept:
    """Stands in for the blueprint `Sock.route(..., bp=...)` registers on: keeps the view."""

    def __init__(self) -> None:
        self.view: Callable[..., Any] | None = None

    def route(self, rule: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def keep(view: Callable[..., Any]) -> Callable[..., Any]:
            self.view = view
            return view

        return keep


def _flask_sock_view(view: Callable[..., Any]) -> Callable[..., Any]:
    from flask_sock import Sock

    kept = _Kept()
    Sock().route("", bp=kept)(view)
    assert kept.view is not None, "flask-sock registered no view"
    return kept.view


def add_websocket_route(app: Flask, rule: str, endpoint: str, view: Callable[..., Any]) -> None:
    """Route `rule` to `view(ws, **url_args)` as flask-sock does, importing it on first use."""
    built: Callable[..., Any] | None = None
    lock = threading.Lock()

    @functools.wraps(view)
    def websocket_route(*args: Any, **kwargs: Any) -> Any:
        nonlocal built
        if built is None:
            with lock:
                if built is None:
                    built = _flask_sock_view(view)
        return built(*args, **kwargs)

    app.add_url_rule(rule, endpoint=endpoint, view_func=websocket_route, websocket=True)
