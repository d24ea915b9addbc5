"""Every URL Nexus serves, in one ordered list: reading it tells you the app.

The OpenAPI document is generated from this list, so the two cannot drift apart (a test
also checks Flask's own URL map against the document).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from nexus.ui import api_server, api_settings, api_system, pages, stream


@dataclass(frozen=True)
class Route:
    rule: str
    view: Callable[..., Any]
    methods: tuple[str, ...] = ("GET",)
    summary: str = ""
    tag: str = ""
    websocket: bool = False
    page: bool = False  # an HTML page, not part of the API document
    params: tuple[dict[str, Any], ...] = ()
    body: dict[str, Any] | None = None  # JSON schema of the request body
    responses: dict[str, str] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return self.view.__name__


_SINCE = {"name": "since", "in": "query", "schema": {"type": "number"},
          "description": "Only samples newer than this UNIX time (seconds)."}

ROUTES: tuple[Route, ...] = (
    # Pages
    Route("/", pages.index, page=True),
    # Nexus itself
    Route("/healthz", api_system.healthz, summary="Liveness of Nexus itself", tag="system"),
    Route("/api/openapi.json", pages.openapi_document, summary="This document", tag="system"),
    Route("/api/system/check", api_system.system_check, summary="System check (what `nexus doctor` prints)",
          tag="system"),
    # The OpenCode server
    Route("/api/server", api_server.server_status, summary="Status of the OpenCode server", tag="server"),
    Route("/api/server/start", api_server.server_start, ("POST",), "Start the OpenCode server", "server",
          responses={"503": "It could not be started; the message says why"}),
    Route("/api/server/stop", api_server.server_stop, ("POST",), "Stop the OpenCode server", "server"),
    Route("/api/server/restart", api_server.server_restart, ("POST",), "Restart the OpenCode server", "server",
          responses={"503": "It could not be started again; the message says why"}),
    Route("/api/server/metrics", api_server.server_metrics, summary="Per-second metrics held in memory",
          tag="server", params=(_SINCE,)),
    Route("/api/server/metrics/history", api_server.server_metrics_history,
          summary="Downsampled metrics from the store", tag="server", params=(_SINCE,)),
    Route("/api/server/restarts", api_server.server_restarts, summary="Restart history, newest first", tag="server",
          params=({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                  {"name": "before", "in": "query", "schema": {"type": "integer"},
                   "description": "Only entries with a smaller id (paging)."})),
    # Settings
    Route("/api/settings", api_settings.settings_get, summary="All settings with their descriptions",
          tag="settings"),
    Route("/api/settings", api_settings.settings_update, ("PATCH",), "Change settings (all or nothing)",
          "settings", body={"type": "object", "additionalProperties": True,
                            "description": "Setting keys and their new values"},
          responses={"422": "A value was not valid; nothing changed"}),
    # Live stream
    Route("/api/stream", stream.stream_ws, summary="Live status and metrics (WebSocket)", tag="stream",
          websocket=True),
    Route("/api/stream/sse", stream.stream_sse, summary="Live status and metrics (Server-Sent Events)",
          tag="stream", responses={"200": "text/event-stream"}),
)
