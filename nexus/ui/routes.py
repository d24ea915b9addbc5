"""Every URL Nexus serves, in one ordered list: reading it tells you the app.

The OpenAPI document is generated from this list, so the two cannot drift apart (a test
also checks Flask's own URL map against the document).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nexus.ui import api_chat, api_server, api_settings, api_system, chat_stream, pages, stream
from nexus.ui import api_auth, api_setup, api_tunnel, pages_auth
from nexus.ui import api_logs, logs_stream, pages_logs
from nexus.ui import api_notifications
from nexus.ui import api_desktop
from nexus.ui import api_analytics, pages_manage
from nexus.ui import api_agents, pages_agents
from nexus.ui import api_workspace, terminal_stream
from nexus.ui import api_projects
from nexus.ui import api_chat_history
from nexus.ui import pages_app


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
    # Who may call it with an API key (nexus/auth/scopes.py): read, chat, approve, admin, or
    # "owner" (never a key: a browser sign-in with the password typed in the last minutes).
    # Unset: reading is "read", changing is "admin".
    scope: str = ""

    @property
    def endpoint(self) -> str:
        return self.view.__name__

    @property
    def needs(self) -> str:
        return self.scope or ("read" if self.methods == ("GET",) and not self.websocket else "admin")


_LOG_FILTERS = (
    {"name": "level", "in": "query", "schema": {"type": "string"},
     "description": "Levels, comma separated: DEBUG, INFO, WARNING, ERROR, CRITICAL (default: all)."},
    {"name": "source", "in": "query", "schema": {"type": "string"},
     "description": "Sources, comma separated: nexus, opencode, cloudflared (default: all)."},
    {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200},
     "description": "Only lines containing this text (case-insensitive)."},
)

_SINCE = {"name": "since", "in": "query", "schema": {"type": "number"},
          "description": "Only samples newer than this UNIX time (seconds)."}

_TOPICS = {"name": "topics", "in": "query", "schema": {"type": "string"},
           "description": "Comma-separated topics to stream (default: all of them)."}
_AGENT = {"type": "object", "properties": {
    "name": {"type": "string"}, "engine": {"enum": ["opencode", "anthropic"]}, "model": {"type": "string"},
    "opencode_agent": {"type": "string", "description": "OpenCode's own agent (build, plan...) for OpenCode agents"},
    "system_prompt": {"type": "string"},
    "tools": {"type": ["array", "null"], "items": {"type": "string"}, "description": "Enabled tools; null = all"},
    "temperature": {"type": ["number", "null"]}, "max_tokens": {"type": ["integer", "null"]},
    "thinking_budget": {"type": "integer", "description": "0 (off) or at least 1024 tokens"}}}

ROUTES: tuple[Route, ...] = (
    # Pages
    Route("/", pages.index, page=True),
    Route("/dashboard", pages.dashboard, page=True),
    Route("/s/<session_id>", pages.session_page, page=True),
    Route("/login", pages_auth.login_page, page=True),
    Route("/setup", pages_auth.setup_page, page=True),
    Route("/security", pages_auth.security_page, page=True),
    Route("/auth/desktop", pages_auth.desktop_signin, page=True),
    Route("/sessions", pages_manage.sessions_overview, page=True),
    Route("/analytics", pages_manage.analytics_page, page=True),
    Route("/settings", pages_manage.settings_page, page=True),
    # Nexus itself
    # The installable web app (open without sign-in: see nexus/ui/security.py).
    Route("/manifest.webmanifest", pages_app.manifest, page=True),
    Route("/sw.js", pages_app.service_worker, page=True),
    Route("/offline", pages_app.offline_page, page=True),
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
    Route("/api/server/password", api_server.server_attach_password_set, ("PUT",),
          "Store the password of the OpenCode server Nexus attaches to (server.url)", "server",
          body={"type": "object", "required": ["password"], "properties": {"password": {"type": "string"}}},
          scope="owner"),
    Route("/api/server/password", api_server.server_attach_password_delete, ("DELETE",),
          "Forget that password", "server", responses={"204": "Forgotten"}, scope="owner"),
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
    Route("/api/settings/reset", api_settings.settings_reset, ("POST",), "Put settings back to their defaults",
          "settings", body={"type": "object", "required": ["keys"],
                            "properties": {"keys": {"type": "array", "items": {"type": "string"}}}},
          responses={"422": "A key is unknown; nothing was reset"}),
    # Signing in, API keys, the audit log (nexus/auth)
    Route("/api/auth/session", api_auth.auth_session, summary="Who is asking, and whether sign-in is needed",
          tag="auth"),
    Route("/api/auth/login", api_auth.auth_login, ("POST",), "Sign in with the owner password", "auth",
          body={"type": "object", "required": ["username", "password"],
                "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
          responses={"401": "Wrong user name or password", "423": "Locked after too many failures",
                     "429": "Too many attempts"}),
    Route("/api/auth/confirm", api_auth.auth_confirm, ("POST",),
          "Confirm the owner password (security changes need it typed in the last 10 minutes)", "auth",
          body={"type": "object", "required": ["password"], "properties": {"password": {"type": "string"}}},
          responses={"401": "Wrong password", "423": "Locked after too many failures", "429": "Too many attempts"}),
    Route("/api/auth/logout", api_auth.auth_logout, ("POST",), "Sign this browser out", "auth"),
    Route("/api/auth/logout-all", api_auth.auth_logout_all, ("POST",), "Sign every device out", "auth"),
    Route("/api/auth/password", api_auth.auth_password_change, ("POST",),
          "Change the owner password (other sessions end)", "auth",
          body={"type": "object", "required": ["current_password", "new_password"],
                "properties": {"current_password": {"type": "string"}, "new_password": {"type": "string"}}},
          responses={"403": "The current password is wrong", "422": "The new password is too weak"}),
    Route("/api/auth/password-strength", api_auth.auth_password_strength, ("POST",),
          "How strong a candidate password is", "auth",
          body={"type": "object", "properties": {"password": {"type": "string"}, "username": {"type": "string"}}}),
    Route("/api/auth/keys", api_auth.auth_keys_list, summary="API keys (prefix, created, last used)", tag="auth"),
    Route("/api/auth/keys", api_auth.auth_keys_create, ("POST",), "Create an API key (shown once)", "auth",
          body={"type": "object", "required": ["name"], "properties": {
              "name": {"type": "string"},
              "scopes": {"type": "array", "items": {"enum": ["read", "chat", "approve", "admin"]},
                         "description": "What the key may do (default: read)"},
              "remote": {"type": "boolean", "description": "Usable through the tunnel (default: false)"}}},
          responses={"201": "Created; the key is in the answer, once", "422": "A name or scope is not valid"},
          scope="owner"),
    Route("/api/auth/keys/<int:key_id>", api_auth.auth_keys_revoke, ("DELETE",), "Revoke an API key", "auth",
          scope="owner"),
    Route("/api/audit", api_auth.audit_list, summary="Security events, newest first", tag="auth",
          params=({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                  {"name": "before", "in": "query", "schema": {"type": "integer"}})),
    # First-run setup wizard (nexus/setup)
    Route("/api/setup", api_setup.setup_state, summary="Where the setup wizard is, with its answers so far",
          tag="setup"),
    Route("/api/setup/restart", api_setup.setup_restart, ("POST",), "Run the setup wizard again", "setup",
          scope="owner"),
    Route("/api/setup/opencode-install", api_setup.opencode_install_state,
          summary="The wizard's OpenCode install: the npm command, whether npm exists, its output so far", tag="setup"),
    Route("/api/setup/opencode-install", api_setup.opencode_install_start, ("POST",),
          "Install OpenCode with npm install -g opencode-ai (202; poll the GET for progress)", "setup",
          scope="owner"),  # it runs a program: never for a key
    Route("/api/setup/<step>", api_setup.setup_submit, ("POST",), "Answer one step of the setup wizard", "setup",
          body={"type": "object", "additionalProperties": True},
          responses={"409": "An earlier step comes first", "422": "An answer was not valid"}, scope="owner"),
    # Cloudflare tunnel (nexus/tunnel)
    Route("/api/tunnel", api_tunnel.tunnel_status, summary="Tunnel state, public URL, reason of an error",
          tag="tunnel"),
    Route("/api/tunnel/start", api_tunnel.tunnel_start, ("POST",), "Start the tunnel", "tunnel",
          body={"type": "object", "properties": {"mode": {"enum": ["quick", "named"]}}},
          responses={"503": "It cannot start; the message says why"}),
    Route("/api/tunnel/stop", api_tunnel.tunnel_stop, ("POST",), "Stop the tunnel", "tunnel"),
    Route("/api/tunnel/qr.svg", api_tunnel.tunnel_qr, summary="QR code of the public URL (SVG)", tag="tunnel",
          responses={"200": "image/svg+xml", "404": "Not connected"}),
    Route("/api/tunnel/token", api_tunnel.tunnel_token_set, ("PUT",), "Store the named tunnel's token", "tunnel",
          body={"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}}, scope="owner"),
    Route("/api/tunnel/token", api_tunnel.tunnel_token_delete, ("DELETE",), "Forget the named tunnel's token",
          "tunnel", scope="owner"),
    # Chat sessions (nexus/chat)
    Route("/api/sessions", api_chat.sessions_list, summary="Sessions, newest first", tag="chat",
          params=({"name": "state", "in": "query", "schema": {"enum": ["active", "archived", "deleted", "all"]}},
                  {"name": "q", "in": "query", "schema": {"type": "string"},
                   "description": "Only sessions whose messages contain these words."},
                  {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                  {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                  {"name": "agent", "in": "query", "schema": {"type": "string"}},
                  {"name": "model", "in": "query", "schema": {"type": "string"}},
                  {"name": "created_from", "in": "query", "schema": {"type": "number"},
                   "description": "Only sessions created at or after this UNIX time."},
                  {"name": "created_to", "in": "query", "schema": {"type": "number"},
                   "description": "Only sessions created before this UNIX time."},
                  {"name": "facets", "in": "query", "schema": {"enum": ["1"]},
                   "description": "Also list the agents and models sessions used (for filters)."},
                  {"name": "directory", "in": "query", "schema": {"type": "string"},
                   "description": "Only sessions of this project folder."},
                  {"name": "server", "in": "query", "schema": {"type": "string"},
                   "description": "Only sessions on this OpenCode server (an id from /api/servers)."})),
    Route("/api/sessions", api_chat.sessions_create, ("POST",), "Start a session", "chat",
          body={"type": "object", "properties": {"title": {"type": "string"}, "engine": {"type": "string"},
                                                 "agent": {"type": "string"}, "model": {"type": "string"},
                                                 "agent_id": {"type": "string",
                                                              "description": "A named agent (/api/agent-configs)"},
                                                 "directory": {"type": "string",
                                                               "description": "The project folder (absolute)"},
                                                 "server": {"type": "string",
                                                            "description": "An OpenCode server id (/api/servers)"}}},
          responses={"201": "Created", "400": "Not an existing absolute folder",
                     "409": "Ten sessions are active already"}, scope="chat"),
    Route("/api/sessions/<session_id>", api_chat.session_get, summary="One session", tag="chat"),
    Route("/api/sessions/<session_id>", api_chat.session_update, ("PATCH",),
          "Rename, archive or reopen; choose the model or agent of the next messages", "chat",
          body={"type": "object", "properties": {"title": {"type": "string"},
                                                 "state": {"enum": ["active", "archived"]},
                                                 "model": {"type": "string"}, "agent": {"type": "string"}}}),
    Route("/api/sessions/<session_id>", api_chat.session_delete, ("DELETE",), "Delete (restorable)", "chat",
          params=({"name": "opencode", "in": "query", "schema": {"enum": ["0", "1"]},
                   "description": "1: delete OpenCode's copy too (its other clients lose it; not restorable)."},),
          responses={"204": "Deleted"}),
    # Projects and OpenCode servers (nexus/projects, nexus/servers)
    Route("/api/projects", api_projects.projects_list, summary="Project folders, most recently used first",
          tag="projects"),
    Route("/api/projects", api_projects.projects_add, ("POST",), "Add a folder as a project", "projects",
          body={"type": "object", "required": ["directory"],
                "properties": {"directory": {"type": "string"}, "server": {"type": "string"}}},
          responses={"201": "Added", "400": "Not an existing absolute folder"}),
    Route("/api/projects/browse", api_projects.projects_browse, summary="Sub-folders of a folder in the home folder",
          tag="projects", params=({"name": "path", "in": "query", "schema": {"type": "string"}},),
          responses={"403": "Outside the home folder, or remote without the terminal's rules"}, scope="chat"),
    Route("/api/servers", api_projects.servers_list, summary="Every OpenCode server: spawned and attached",
          tag="servers"),
    Route("/api/servers", api_projects.servers_add, ("POST",), "Attach an OpenCode server by URL", "servers",
          body={"type": "object", "required": ["name", "url"],
                "properties": {"name": {"type": "string"}, "url": {"type": "string"},
                               "username": {"type": "string"}, "password": {"type": "string"}}},
          responses={"201": "Attached", "400": "Unreachable, wrong password or bad input"},
          scope="owner"),  # where prompts (and a password) go: the owner, present, as for server.url
    Route("/api/servers/<server_id>", api_projects.server_update, ("PATCH",), "Rename or re-address a server",
          "servers", body={"type": "object", "properties": {"name": {"type": "string"}, "url": {"type": "string"},
                                                            "username": {"type": "string"},
                                                            "password": {"type": "string"}}}, scope="owner"),
    Route("/api/servers/<server_id>", api_projects.server_remove, ("DELETE",), "Detach a server (never stopped)",
          "servers", responses={"204": "Detached"}, scope="owner"),
    Route("/api/sessions/<session_id>/restore", api_chat.session_restore, ("POST",), "Undo a delete", "chat"),
    Route("/api/sessions/<session_id>/prompt", api_chat.session_prompt, ("POST",), "Send a message", "chat",
          body={"type": "object", "properties": {
              "text": {"type": "string"}, "agent": {"type": "string"}, "model": {"type": "string"},
              "mentions": {"type": "array", "items": {"type": "object", "properties": {
                  "type": {"enum": ["file", "agent"]}, "path": {"type": "string"}, "name": {"type": "string"}}},
                  "description": "@ mentions: project files (relative paths) and agents"},
              "files": {"type": "array", "items": {"type": "object", "required": ["name", "data"], "properties": {
                  "name": {"type": "string"}, "mime": {"type": "string"},
                  "data": {"type": "string", "description": "base64"}}}}}},
          responses={"202": "Sent ({queued: false}), or queued until the agent is free ({queued: true, id}); "
                            "the reply streams on /api/chat/stream", "409": "The queue is full"}, scope="chat"),
    Route("/api/sessions/<session_id>/commands", api_chat.session_commands,
          summary="Slash commands the session's engine offers (built-in and the project's)", tag="chat"),
    Route("/api/sessions/<session_id>/commands/<name>", api_chat.session_command_run, ("POST",),
          "Run a slash command (sent, or queued while the agent works)", "chat",
          body={"type": "object", "properties": {"arguments": {"type": "string"}, "agent": {"type": "string"},
                                                 "model": {"type": "string"}}},
          responses={"202": "Sent ({queued: false}) or queued ({queued: true, id})", "404": "No such command"}, scope="chat"),
    Route("/api/sessions/<session_id>/mentions", api_chat.session_mentions,
          summary="For @ mentions: project files matching ?q= (OpenCode's file search) and sub-agents",
          tag="chat",
          params=({"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},)),
    Route("/api/sessions/<session_id>/compact", api_chat.session_compact, ("POST",),
          "Summarize the conversation to free context (OpenCode's compaction)", "chat",
          responses={"202": "Started; the summary streams like a reply", "409": "The agent is working"}, scope="chat"),
    Route("/api/sessions/<session_id>/queue/<item_id>", api_chat.session_queued_edit, ("PATCH",),
          "Change a queued message's text", "chat",
          body={"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
          responses={"409": "Sent or cancelled already"}, scope="chat"),
    Route("/api/sessions/<session_id>/queue/<item_id>", api_chat.session_queued_cancel, ("DELETE",),
          "Cancel a queued message", "chat", responses={"204": "Cancelled", "409": "Sent or cancelled already"},
          scope="chat"),
    Route("/api/sessions/<session_id>/abort", api_chat.session_abort, ("POST",), "Stop the running reply", "chat",
          responses={"202": "Accepted"}, scope="chat"),
    Route("/api/sessions/<session_id>/permissions/<permission_id>", api_chat.session_permission, ("POST",),
          "Answer a permission request", "chat",
          body={"type": "object", "required": ["reply"], "properties": {
              "reply": {"enum": ["once", "always", "reject"]}, "message": {"type": "string"}}},
          responses={"409": "Not pending any more"}, scope="approve"),
    Route("/api/sessions/<session_id>/questions/<question_id>", api_chat.session_question, ("POST",),
          "Answer or dismiss a question the agent asked", "chat",
          body={"type": "object", "properties": {
              "answers": {"type": "array", "items": {"type": "array", "items": {"type": "string"}},
                          "description": "One list of chosen option labels (or typed text) per question"},
              "reject": {"type": "boolean", "description": "true dismisses the question"}}},
          responses={"400": "The answer does not fit the question", "409": "Not pending any more"}, scope="approve"),
    # Undo, redo, fork, edit; to-dos, sub-agents, diffs (nexus/chat/history.py)
    Route("/api/sessions/<session_id>/revert", api_chat_history.session_revert, ("POST",),
          "Undo the session to before a message (OpenCode restores the files)", "chat",
          body={"type": "object", "required": ["message_id"], "properties": {"message_id": {"type": "string"}}},
          responses={"404": "Not a message of this session", "409": "The agent is busy"}, scope="chat"),
    Route("/api/sessions/<session_id>/unrevert", api_chat_history.session_unrevert, ("POST",),
          "Redo what the last undo took back", "chat", responses={"409": "Nothing was undone"}, scope="chat"),
    Route("/api/sessions/<session_id>/fork", api_chat_history.session_fork, ("POST",),
          "A new session with this one's conversation before a message", "chat",
          body={"type": "object", "properties": {"message_id": {"type": "string"}}},
          responses={"201": "The new session", "404": "Not a message of this session"}, scope="chat"),
    Route("/api/sessions/<session_id>/edit", api_chat_history.session_edit_last, ("POST",),
          "Replace the last message sent and send it again", "chat",
          body={"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
          responses={"202": "Accepted", "409": "The agent is busy, or nothing to edit"}, scope="chat"),
    Route("/api/sessions/<session_id>/todos", api_chat_history.session_todos, summary="The agent's to-do list",
          tag="chat"),
    Route("/api/sessions/<session_id>/children", api_chat_history.session_children,
          summary="Sub-agent sessions the agent started", tag="chat"),
    Route("/api/sessions/<session_id>/diff", api_chat_history.session_diff,
          summary="What the session (or one message's turn) changed in the files", tag="chat",
          params=({"name": "message_id", "in": "query", "schema": {"type": "string"},
                   "description": "Only what this user message's turn changed."},)),
    Route("/api/sessions/<session_id>/messages", api_chat.session_messages, summary="Messages, oldest first",
          tag="chat", params=({"name": "before", "in": "query", "schema": {"type": "string"},
                               "description": "Only messages older than this message id (paging back)."},
                              {"name": "limit", "in": "query", "schema": {"type": "integer"}})),
    Route("/api/sessions/<session_id>/export", api_chat.session_export, summary="Download as JSON or Markdown",
          tag="chat", params=({"name": "format", "in": "query", "schema": {"enum": ["json", "md"]}},),
          responses={"200": "application/json, or text/markdown with format=md"}),
    Route("/api/search", api_chat.search, summary="Search all message text", tag="chat",
          params=({"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                  {"name": "limit", "in": "query", "schema": {"type": "integer"}})),
    Route("/api/models", api_chat.models, summary="Models the OpenCode server offers", tag="chat",
          params=({"name": "server", "in": "query", "schema": {"type": "string"},
                   "description": "An OpenCode server id (/api/servers); default the one Nexus starts."},)),
    Route("/api/agents", api_chat.agents, summary="Agents the OpenCode server offers", tag="chat",
          params=({"name": "server", "in": "query", "schema": {"type": "string"},
                   "description": "An OpenCode server id (/api/servers); default the one Nexus starts."},)),
    Route("/api/chat/stream", chat_stream.chat_stream_ws, summary="Live chat events (WebSocket)", tag="chat",
          websocket=True, scope="read"),
    Route("/api/chat/stream/sse", chat_stream.chat_stream_sse, summary="Live chat events (Server-Sent Events)",
          tag="chat", params=({"name": "follow", "in": "query", "schema": {"type": "string"},
                               "description": "SESSION:EPOCH:SEQ, comma separated"},),
          responses={"200": "text/event-stream"}),
    # Notifications (nexus/notifications)
    Route("/api/notifications", api_notifications.notifications_list,
          summary="Notifications, newest first, with the unread count and the preferences", tag="notifications",
          params=({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                  {"name": "before", "in": "query", "schema": {"type": "integer"},
                   "description": "Only notifications with a smaller id (paging)."},
                  {"name": "unread", "in": "query", "schema": {"enum": ["1", "0"]},
                   "description": "1: only unread ones."})),
    Route("/api/notifications/read", api_notifications.notifications_mark_read, ("POST",),
          "Mark notifications read (all of them without ids)", "notifications",
          body={"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}},
          responses={"400": "ids is not a list of notification ids"}),
    Route("/api/notifications", api_notifications.notifications_clear, ("DELETE",), "Delete every notification",
          "notifications"),
    # The desktop shell (nexus/desktop): a second launch hands over to the running instance
    Route("/api/desktop/focus", api_desktop.desktop_focus, ("POST",),
          "Show the running Nexus (its window, or a one-time browser sign-in link)", "desktop",
          params=({"name": "X-Nexus-Instance", "in": "header", "required": True, "schema": {"type": "string"},
                   "description": "The token from the data dir's instance lock file (owner-only)."},),
          responses={"403": "Not from this computer, or the instance token is wrong",
                     "404": "This Nexus holds no instance lock"}),
    # Usage analytics (nexus/analytics)
    Route("/api/analytics", api_analytics.analytics_report, summary="Usage of the chat sessions in a range of days",
          tag="analytics", params=(
              {"name": "start", "in": "query", "required": True, "schema": {"type": "string", "format": "date"},
               "description": "First local day (YYYY-MM-DD)."},
              {"name": "end", "in": "query", "required": True, "schema": {"type": "string", "format": "date"},
               "description": "Day after the last one (the range is [start, end))."},
              {"name": "tz", "in": "query", "schema": {"type": "string"},
               "description": "IANA time zone the days are counted in (default UTC)."}),
          responses={"400": "The range or time zone is not valid"}),
    # Named agents and the built-in Anthropic engine (nexus/agents, nexus/chat/engines/anthropic)
    Route("/agents", pages_agents.agents_page, page=True),
    Route("/api/agent-configs", api_agents.agent_configs_list,
          summary="Named agents, the tools each engine offers, and whether an Anthropic key is set", tag="agents"),
    Route("/api/agent-configs", api_agents.agent_configs_create, ("POST",), "Create a named agent", "agents",
          body=_AGENT, responses={"201": "Created", "422": "A field was not valid; nothing was saved"}),
    Route("/api/agent-configs/<agent_id>", api_agents.agent_config_get, summary="One named agent", tag="agents"),
    Route("/api/agent-configs/<agent_id>", api_agents.agent_config_update, ("PATCH",), "Edit a named agent",
          "agents", body=_AGENT, responses={"422": "A field was not valid; nothing was saved"}),
    Route("/api/agent-configs/<agent_id>", api_agents.agent_config_delete, ("DELETE",), "Delete a named agent",
          "agents", responses={"204": "Deleted"}),
    Route("/api/agent-configs/<agent_id>/duplicate", api_agents.agent_config_duplicate, ("POST",),
          "Copy a named agent under a new name", "agents", responses={"201": "Created"}),
    Route("/api/anthropic/models", api_agents.anthropic_models,
          summary="Anthropic models with their prices (and the date of the price table)", tag="agents"),
    Route("/api/anthropic/key", api_agents.anthropic_key_get, summary="Whether an Anthropic API key is set",
          tag="agents"),
    Route("/api/anthropic/key", api_agents.anthropic_key_set, ("PUT",),
          "Store the Anthropic API key (tested first unless test is false)", "agents",
          body={"type": "object", "required": ["key"], "properties": {"key": {"type": "string"},
                                                                      "test": {"type": "boolean"}}},
          responses={"400": "Anthropic refused the key; it was not stored", "422": "Not an API key"}),
    Route("/api/anthropic/key/test", api_agents.anthropic_key_test, ("POST",),
          "Test the stored Anthropic API key with a cheap call", "agents",
          responses={"404": "No key is set", "400": "Anthropic refused the key"}),
    Route("/api/anthropic/key", api_agents.anthropic_key_delete, ("DELETE",), "Forget the Anthropic API key",
          "agents"),
    # Workspace pane: files, changes, terminals and manual commands (nexus/workspace)
    Route("/api/sessions/<session_id>/files", api_workspace.workspace_files,
          summary="One folder of the session's workspace (ignored entries marked)", tag="workspace",
          params=({"name": "path", "in": "query", "schema": {"type": "string"},
                   "description": "Folder relative to the workspace; default its root."},),
          responses={"403": "The path is outside the workspace", "404": "No such folder"}),
    Route("/api/sessions/<session_id>/files/content", api_workspace.workspace_file_content,
          summary="A file's text (size-capped; binary files are not sent)", tag="workspace",
          params=({"name": "path", "in": "query", "required": True, "schema": {"type": "string"}},),
          responses={"403": "The path is outside the workspace", "404": "No such file"}),
    Route("/api/sessions/<session_id>/files/search", api_workspace.workspace_search,
          summary="Search file names or contents in the workspace", tag="workspace",
          params=({"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                  {"name": "in", "in": "query", "schema": {"enum": ["names", "content"]}},
                  {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}})),
    Route("/api/sessions/<session_id>/changes", api_workspace.workspace_changes,
          summary="The working tree's changes, one unified diff per file", tag="workspace"),
    Route("/api/sessions/<session_id>/terminals", api_workspace.terminals_list,
          summary="The session's open terminals", tag="workspace"),
    Route("/api/sessions/<session_id>/terminals", api_workspace.terminals_create, ("POST",),
          "Open a terminal (a shell in the session's workspace)", "workspace",
          body={"type": "object", "properties": {"cols": {"type": "integer"}, "rows": {"type": "integer"}}},
          responses={"201": "Opened", "403": "Terminals are off for remote devices",
                     "409": "Too many terminals"}),
    Route("/api/sessions/<session_id>/terminals/<terminal_id>", api_workspace.terminals_close, ("DELETE",),
          "Close a terminal (its shell and everything it started)", "workspace", responses={"204": "Closed"}),
    Route("/api/terminals/<terminal_id>/connect", terminal_stream.terminal_connect_ws,
          summary="A terminal's screen and keyboard (WebSocket)", tag="workspace", websocket=True),
    Route("/api/sessions/<session_id>/run", terminal_stream.run_command_ws,
          summary="Run one command in the workspace and stream its output (WebSocket)", tag="workspace",
          websocket=True),
    # Live stream
    Route("/api/stream", stream.stream_ws, summary="Live status and metrics (WebSocket)", tag="stream",
          websocket=True, params=(_TOPICS,), scope="read"),
    Route("/api/stream/sse", stream.stream_sse, summary="Live status and metrics (Server-Sent Events)",
          tag="stream", params=(_TOPICS,), responses={"200": "text/event-stream"}),
    # The log (nexus/logs)
    Route("/logs", pages_logs.logs_page, page=True),
    Route("/api/logs", api_logs.logs_list, summary="Log lines from the end, oldest first; page back with cursor",
          tag="logs", params=(*_LOG_FILTERS,
                              {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                          "maximum": 1000}},
                              {"name": "cursor", "in": "query", "schema": {"type": "string"},
                               "description": "The cursor of the previous page: lines before it."}),
          responses={"410": "The cursor's file was rotated away"}),
    Route("/api/logs/download", api_logs.logs_download, summary="Download the view or the whole log (JSON lines)",
          tag="logs", params=({"name": "scope", "in": "query", "schema": {"enum": ["view", "all"]},
                               "description": "view: the lines matching the filters; all: every file, oldest "
                                              "first."}, *_LOG_FILTERS),
          responses={"200": "application/x-ndjson, streamed"}),
    Route("/api/logs/stream", logs_stream.logs_stream_ws, summary="New log lines matching the filters (WebSocket)",
          tag="logs", websocket=True, params=_LOG_FILTERS, scope="read"),
    Route("/api/logs/stream/sse", logs_stream.logs_stream_sse,
          summary="New log lines matching the filters (Server-Sent Events)", tag="logs", params=_LOG_FILTERS,
          responses={"200": "text/event-stream"}),
)
