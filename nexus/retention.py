"""Retention: what Nexus keeps only for a while is removed on time.

One worker thread (`nexus-retention`) runs a round at start and then hourly: chat sessions
deleted more than `chat.purge_deleted_days` ago are purged (messages, parts, search index;
OpenCode's own copy too, when it runs), and expired sign-in sessions are removed (idle longer
than `security.session_idle_minutes`, or past their absolute expiry).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from nexus.auth.repository import AuthRepository
from nexus.background import PeriodicWorker
from nexus.chat.engines.base import EngineError
from nexus.chat.service import ChatService
from nexus.settings import Settings

log = logging.getLogger(__name__)

INTERVAL = 3600.0


class Retention:
    def __init__(self, chat: ChatService, auth: AuthRepository, settings: Settings,
                 interval: float = INTERVAL) -> None:
        self._chat = chat
        self._auth = auth
        self._settings = settings
        self._worker = PeriodicWorker("nexus-retention", interval, self.run_once, what="purging old data")

    def start(self) -> None:
        self._worker.start()
        self._worker.wake()  # a first round at start, not an hour later

    def stop(self) -> None:
        self._worker.stop()

    def run_once(self, now: float | None = None) -> dict[str, Any]:
        """One round; returns what was removed (for the log and for tests)."""
        now = time.time() if now is None else now
        purged: list[str] = []
        days = self._settings.current.chat.purge_deleted_days
        if days > 0:
            for session in self._chat.repo.deleted_before(now - days * 86400):
                engine = self._chat.engines.get(session["engine"])
                if engine is not None and session.get("engine_ref"):
                    try:
                        engine.delete(session["engine_ref"])
                    except (EngineError, AttributeError):
                        pass  # OpenCode is not running, or the engine keeps nothing: Nexus's copy goes anyway
                self._chat.repo.purge_session(session["id"])
                purged.append(session["id"])
        idle = self._settings.current.security.session_idle_minutes * 60
        self._auth.prune_sessions(now, idle)
        if purged:
            log.info("purged %d chat sessions deleted more than %d days ago", len(purged), days)
        return {"purged_sessions": purged}
