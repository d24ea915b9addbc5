"""The notification center: turns bus events into notifications for the owner.

It follows the bus on its own thread (`nexus-notifications`), so a database write never
stalls the supervisor or the tunnel that published the event. Each new notification is
stored (bounded by `notifications.keep`) and published as `notifications.new`, which the
live stream carries to every open tab. A kind switched off in the settings is not
recorded at all.

One incident gives one notification: a crash loop says "crashed" once, then either
"running again" or "gave up", not once per failed attempt.
"""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Callable
from typing import Any

from nexus.bus import Event, EventBus, Subscription
from nexus.notifications.kinds import KINDS, setting_key
from nexus.notifications.repository import NotificationRepository
from nexus.settings import Settings

log = logging.getLogger(__name__)

TOPICS = ("server.state", "tunnel.state", "chat.session")
_UP = ("running", "unhealthy")


class NotificationCenter:
    def __init__(self, repo: NotificationRepository, settings: Settings, bus: EventBus, *,
                 session_title: Callable[[str], str | None] | None = None) -> None:
        self.repo = repo
        self._settings = settings
        self._bus = bus
        self._session_title = session_title or (lambda _sid: None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sub: Subscription | None = None
        self._server_incident = False  # a crash was announced and not yet resolved
        self._tunnel_state: str | None = "off"
        self._tunnel_incident = False  # "could not connect" was announced; restarts stay quiet until it connects
        self._waiting_sessions: set[str] = set()  # announced permission requests, until answered

    # ----- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        # Subscribed here, not on the thread, so no event published after start() is missed.
        self._sub = self._bus.subscribe(TOPICS, maxsize=1000)
        self._thread = threading.Thread(target=self._run, name="nexus-notifications", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    def _run(self) -> None:
        sub = self._sub
        assert sub is not None, "start() subscribes before the thread runs"
        while not self._stop.is_set():
            event = sub.get(timeout=0.25)
            if event is None:
                continue
            try:
                self.handle(event)
            except Exception:  # one bad event must not end the notifications
                log.exception("could not turn %s into a notification", event.topic)

    # ----- from events to notifications -----------------------------------------------------

    def handle(self, event: Event) -> dict[str, Any] | None:
        if event.topic == "server.state":
            return self._on_server(event.data)
        if event.topic == "tunnel.state":
            return self._on_tunnel(event.data)
        if event.topic == "chat.session":
            return self._on_session(event.data)
        return None

    def _on_server(self, data: dict[str, Any]) -> dict[str, Any] | None:
        state, previous, reason = data.get("state"), data.get("previous"), data.get("reason") or ""
        if state in ("crashed", "backing-off") and not self._server_incident and previous in (*_UP, "starting"):
            self._server_incident = True
            if previous == "starting":
                title = "OpenCode could not start"
            elif state == "crashed":
                title = "OpenCode crashed"
            else:
                title = "OpenCode stopped answering"
            return self.notify("server_crash", title, reason, level="error", link="/dashboard")
        if state == "running" and self._server_incident:
            self._server_incident = False
            return self.notify("server_restart", "OpenCode is running again", "Nexus restarted it automatically.",
                               level="success", link="/dashboard")
        if state == "gave-up":
            self._server_incident = False
            return self.notify("server_gave_up", "Nexus gave up restarting OpenCode",
                               f"{reason}. Start it from the dashboard when the cause is fixed.",
                               level="error", link="/dashboard")
        if state in ("stopped", "stopping"):
            self._server_incident = False
        return None

    def _on_tunnel(self, data: dict[str, Any]) -> dict[str, Any] | None:
        state, previous = data.get("state"), self._tunnel_state
        self._tunnel_state = state
        if state in ("connected", "off"):
            self._tunnel_incident = False
        if state == "connected" and previous != "connected":
            return self.notify("tunnel_up", "Tunnel connected", data.get("url") or "", level="success",
                               link="/dashboard")
        if previous == "connected" and state != "connected":
            if state == "off":
                return self.notify("tunnel_down", "Tunnel stopped", "Nexus is reachable from this computer only.",
                                   link="/dashboard")
            return self.notify("tunnel_down", "Tunnel disconnected", data.get("reason") or "", level="warning",
                               link="/dashboard")
        if state == "error" and previous == "starting" and not self._tunnel_incident:
            self._tunnel_incident = True  # one notification per episode, not one per restart attempt
            return self.notify("tunnel_down", "The tunnel could not connect", data.get("reason") or "",
                               level="warning", link="/dashboard")
        return None

    def _on_session(self, data: dict[str, Any]) -> dict[str, Any] | None:
        session_id = data.get("session_id") or ""
        if data.get("type") == "permission.asked":
            if session_id in self._waiting_sessions:
                return None  # the same request seen again after a reconnect
            self._waiting_sessions.add(session_id)
            title = self._title(session_id)
            body = f"“{title}” asks before it goes on." if title else "The agent asks before it goes on."
            return self.notify("permission", "A session is waiting for your permission", body, level="warning",
                               link=f"/s/{session_id}")
        if data.get("type") == "question.asked":
            if session_id in self._waiting_sessions:
                return None
            self._waiting_sessions.add(session_id)
            title = self._title(session_id)
            body = f"“{title}” asks you a question." if title else "The agent asks you a question."
            # The same kind as a permission: both are "the agent waits for you" (one switch).
            return self.notify("permission", "A session has a question for you", body, level="warning",
                               link=f"/s/{session_id}")
        if data.get("status") != "waiting":
            self._waiting_sessions.discard(session_id)
        return None

    def _title(self, session_id: str) -> str | None:
        try:
            return self._session_title(session_id)
        except Exception:
            log.exception("could not read the title of session %s", session_id)
            return None

    # ----- what the REST layer and others call -----------------------------------------------

    def enabled(self, kind: str) -> bool:
        return bool(self._settings[setting_key(kind)])

    def notify(self, kind: str, title: str, body: str = "", *, level: str = "info",
               link: str = "") -> dict[str, Any] | None:
        """Record and announce one notification; None when its kind is switched off."""
        if kind not in KINDS:
            raise ValueError(f"unknown notification kind {kind!r}")
        if not self.enabled(kind):
            return None
        item = self.repo.add(kind=kind, level=level, title=title, body=body, link=link)
        self.repo.keep_newest(self._settings.current.notifications.keep)
        log.info("notification: %s%s", title, f" ({body})" if body else "",
                 extra={"fields": {"kind": kind, "level": level}})
        self._bus.publish("notifications.new", notification=item, unread=self.repo.unread_count())
        return item

    def unread_count(self) -> int:
        return self.repo.unread_count()

    def list(self, limit: int = 50, before_id: int | None = None, unread_only: bool = False) -> dict[str, Any]:
        return {"notifications": self.repo.recent(limit, before_id, unread_only),
                "unread": self.repo.unread_count(), "preferences": self.preferences()}

    def mark_read(self, ids: builtins.list[int] | None = None) -> dict[str, Any]:
        changed = self.repo.mark_read(ids)
        unread = self.repo.unread_count()
        if changed:
            self._bus.publish("notifications.read", ids=ids, unread=unread)
        return {"changed": changed, "unread": unread}

    def clear(self) -> dict[str, Any]:
        removed = self.repo.clear()
        self._bus.publish("notifications.cleared", unread=0)
        return {"removed": removed, "unread": 0}

    def preferences(self) -> dict[str, Any]:
        prefs: dict[str, Any] = {kind: self.enabled(kind) for kind in KINDS}
        prefs["desktop"] = self._settings.current.notifications.desktop
        prefs["long_reply_seconds"] = self._settings.current.notifications.long_reply_seconds
        return prefs
