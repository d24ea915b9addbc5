"""The audit log: security events the owner can review (sign-ins, failures, lockouts, API
keys, password changes, tunnel start/stop). Also written to the log and published on the bus."""

from __future__ import annotations

import logging
from typing import Any

from nexus.auth.repository import AuthRepository
from nexus.bus import EventBus

log = logging.getLogger("nexus.audit")

EVENTS = ("login", "login-failed", "lockout", "logout", "logout-all", "password-changed", "owner-created",
          "desktop-login", "key-created", "key-revoked", "tunnel-started", "tunnel-stopped", "tunnel-error",
          "setup-completed", "setup-restarted",
          # issue 12: the first run's token, confirming the password, key refusals
          "setup-token", "password-confirmed", "key-refused")


class AuditLog:
    def __init__(self, repo: AuthRepository, bus: EventBus | None = None) -> None:
        self._repo = repo
        self._bus = bus

    def record(self, event: str, *, ip: str = "", via: str = "", detail: str = "") -> dict[str, Any]:
        assert event in EVENTS, event
        entry = self._repo.add_event(event, ip[:64], via[:20], detail[:500])
        log.info("audit %s%s%s", event, f" from {ip}" if ip else "", f": {detail}" if detail else "",
                 extra={"fields": {"event": event, "ip": ip, "via": via}})
        if self._bus is not None:
            self._bus.publish("security.audit", **entry)
        return entry

    def recent(self, limit: int = 100, before_id: int | None = None) -> list[dict[str, Any]]:
        return self._repo.events(limit, before_id)
