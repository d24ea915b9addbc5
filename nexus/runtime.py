"""The running Nexus: every service, built in order and started and stopped in one place.

The UI, the CLI and tests all get their services from here. Nothing starts at import
or construction time; `start()` starts the background work and `stop()` ends all of it
(threads joined, child processes gone, store closed).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from nexus.bus import EventBus
from nexus.logs import configure_logging
from nexus.paths import DataPaths, resolve_data_dir
from nexus.server.metrics import MetricsSampler
from nexus.server.supervisor import Supervisor
from nexus.settings import Settings
from nexus.store.database import Database, sqlite_url
from nexus.store.repositories import MetricsRepository, RestartRepository, SettingsRepository

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    paths: DataPaths
    db: Database
    bus: EventBus
    settings: Settings
    supervisor: Supervisor
    metrics: MetricsSampler
    started: bool = False

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str] | None = None, *, database_url: str | None = None,
             console_log: bool = True) -> "Runtime":
        """Open the store and build the services. Raises StoreError for an unusable store."""
        paths = DataPaths(resolve_data_dir(data_dir)).ensure()
        # Log to the file from the first line on, with defaults; the stored settings
        # (level, rotation) are applied as soon as they can be read.
        configure_logging(paths.log_file, console=console_log)
        db = Database.open(database_url or os.environ.get("NEXUS_DATABASE_URL") or sqlite_url(paths.database))
        bus = EventBus()
        settings = Settings(SettingsRepository(db), bus)
        configure_logging(paths.log_file, console=console_log, level=settings["logs.level"],
                          max_bytes=settings["logs.max_bytes"], backup_count=settings["logs.backup_count"])

        def apply_log_settings(event) -> None:
            if any(key.startswith("logs.") for key in event.data["keys"]):
                configure_logging(paths.log_file, console=console_log, level=settings["logs.level"],
                                  max_bytes=settings["logs.max_bytes"], backup_count=settings["logs.backup_count"])

        bus.listen(apply_log_settings, topics=["settings.changed"])
        supervisor = Supervisor(settings, bus, RestartRepository(db), paths.default_workspace)
        metrics = MetricsSampler(supervisor, settings, bus, MetricsRepository(db))
        return cls(paths, db, bus, settings, supervisor, metrics)

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        self.supervisor.start_background()
        self.metrics.start()
        log.info("Nexus services started (data dir %s)", self.paths.root)

    def stop(self) -> None:
        """Stop everything, including a server started by hand before `start()`. Idempotent."""
        was_started, self.started = self.started, False
        self.metrics.stop()
        self.supervisor.shutdown()
        self.db.close()
        if was_started:
            log.info("Nexus services stopped")

    @property
    def data_dir(self) -> Path:
        return self.paths.root
