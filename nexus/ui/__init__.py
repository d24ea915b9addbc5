"""The Flask app: a thin layer that turns HTTP into calls on the Runtime's services."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_compress import Compress

from nexus.runtime import Runtime
from nexus.ui.api_chat import session_prompt_limit
from nexus.ui.errors import install_error_handlers
from nexus.ui.json_provider import OrjsonProvider
from nexus.ui.live import Closing
from nexus.ui.navigation import install_navigation
from nexus.ui.openapi import build_document
from nexus.ui.routes import ROUTES
from nexus.ui.security import install_security
from nexus.ui.static_files import install_static_files
from nexus.ui.url_rules import LazyBuilderRule
from nexus.ui.websocket_cap import WebSocketCap, capped, capped_stream
from nexus.ui.websocket_view import add_websocket_route

MAX_REQUEST_BYTES = 1024 * 1024


def create_app(rt: Runtime, config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.url_rule_class = LazyBuilderRule  # URL builders compiled on first url_for, not at start
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        # Cloudflare drops WebSockets that are idle for ~100 s.
        SOCK_SERVER_OPTIONS={"ping_interval": 25, "max_message_size": MAX_REQUEST_BYTES},
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    if config:
        app.config.update(config)
    app.extensions["nexus.runtime"] = rt
    app.extensions["nexus.closing"] = Closing()
    app.extensions["nexus.websocket_cap"] = WebSocketCap()
    app.extensions["nexus.openapi"] = build_document(ROUTES)

    for route in ROUTES:
        if route.websocket:
            add_websocket_route(app, route.rule, route.endpoint, capped(route.view))
        else:
            # The live streams' SSE fallbacks (nexus/ui/live.py) hold a thread each, like a WebSocket.
            view = capped_stream(route.view) if route.rule.endswith("/stream/sse") else route.view
            app.add_url_rule(route.rule, endpoint=f"{route.endpoint}", view_func=view,
                             methods=list(route.methods))
    # Static assets are the main page's weight (~200 KB raw, ~65 KB compressed). Only they
    # are compressed: pages and API answers carry CSRF tokens and keys, and compressing
    # secrets next to reflected input invites BREACH-style guessing through the tunnel.
    # Event streams would be held back by a compressor's buffer anyway.
    app.config.update(COMPRESS_MIMETYPES=["text/css", "text/javascript", "application/javascript", "image/svg+xml"],
                      COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_LEVEL=6, COMPRESS_BR_LEVEL=5,
                      COMPRESS_MIN_SIZE=1024)
    Compress(app)
    app.before_request(session_prompt_limit)  # before anything reads the body
    install_security(app)
    install_error_handlers(app)
    install_navigation(app)
    install_static_files(app)
    return app
