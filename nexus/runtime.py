"""The running Nexus: every service, built in order and started and stopped in one place.

The UI, the CLI and tests all get their services from here. Nothing starts at import
or construction time; `start()` starts the background work and `stop()` ends all of it
(threads joined, child processes gone, store closed).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from nexus.analytics import ChatAnalytics
from nexus.agents import AgentService
from nexus.agents.repository import AgentRepository
from nexus.auth import AuditLog, AuthRepository, AuthService
from nexus.bus import EventBus
from nexus.chat.engines.anthropic import AnthropicEngine
from nexus.chat.engines.opencode import OpenCodeEngine
from nexus.chat.repository import ChatRepository
from nexus.chat.service import ChatService
from nexus.logs import configure_logging
from nexus.logs.follower import LogFollower
from nexus.notifications import NotificationCenter, NotificationRepository
from nexus.paths import DataPaths, resolve_data_dir
from nexus.secrets import SecretStore
from nexus.server.metrics import MetricsSampler
from nexus.server.child_record import ChildRecord
from nexus.server.supervisor import ATTACH_PASSWORD_SECRET, Supervisor
from nexus.settings import Settings
from nexus.setup import SetupWizard
from nexus.setup.opencode_install import OpenCodeInstaller
from nexus.store.database import Database, sqlite_url
from nexus.store.repositories import MetricsRepository, RestartRepository, SettingsRepository
from nexus.tunnel import TunnelError, TunnelManager
from nexus.workspace.service import WorkspaceService

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    paths: DataPaths
    db: Database
    bus: EventBus
    settings: Settings
    supervisor: Supervisor
    metrics: MetricsSampler
    chat: ChatService
    secrets: SecretStore
    audit: AuditLog
    auth: AuthService
    setup: SetupWizard
    tunnel: TunnelManager
    notifications: NotificationCenter
    workspace: WorkspaceService
    agents: AgentService | None = None
    anthropic: AnthropicEngine | None = None
    started: bool = False
    log_follower: LogFollower | None = None  # new lines of the log, published as `logs.lines`
    # The setup wizard's `npm install -g opencode-ai` (nexus/setup/opencode_install.py).
    opencode_installer: OpenCodeInstaller = field(default_factory=OpenCodeInstaller)

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

        def configure_from_settings() -> None:
            configure_logging(paths.log_file, console=console_log, level=settings["logs.level"],
                              max_bytes=settings["logs.max_bytes"], backup_count=settings["logs.backup_count"],
                              retention_days=settings["logs.retention_days"])

        configure_from_settings()

        def apply_log_settings(event) -> None:
            if any(key.startswith("logs.") for key in event.data["keys"]):
                configure_from_settings()

        bus.listen(apply_log_settings, topics=["settings.changed"])
        secrets = SecretStore.open(paths.root)
        supervisor = Supervisor(settings, bus, RestartRepository(db), paths.default_workspace,
                                attach_password=lambda: secrets.get(ATTACH_PASSWORD_SECRET),
                                child_record=ChildRecord(paths.root / "opencode.pid"))
        metrics = MetricsSampler(supervisor, settings, bus, MetricsRepository(db))
        chat = ChatService(ChatRepository(db), bus)
        chat.add_engine(OpenCodeEngine(supervisor, chat))
        anthropic = AnthropicEngine(chat, settings=settings, secrets=secrets,
                                    workspace=lambda: Path(settings["server.workspace"]
                                                               or paths.default_workspace).expanduser())
        chat.add_engine(anthropic)
        agents = AgentService(AgentRepository(db))
        chat.agent_configs = _agent_options(agents)
        auth_repo = AuthRepository(db)
        audit = AuditLog(auth_repo, bus)
        auth = AuthService(auth_repo, settings, audit)
        setup = SetupWizard(auth_repo, settings, auth, secrets, paths.root, paths.default_workspace)
        tunnel = TunnelManager(settings, secrets, paths.root, bus=bus, audit=audit)
        notifications = NotificationCenter(NotificationRepository(db), settings, bus,
                                           session_title=lambda sid: (chat.repo.get_session(sid) or {}).get("title"))
        workspace = WorkspaceService(settings, bus, paths.default_workspace, chat.repo.get_session,
                                     supervisor=supervisor)
        return cls(paths, db, bus, settings, supervisor, metrics, chat, secrets=secrets, audit=audit, auth=auth,
                   setup=setup, tunnel=tunnel, notifications=notifications, workspace=workspace, agents=agents,
                   anthropic=anthropic, log_follower=LogFollower(paths.log_file, bus))

    def start(self, web_url: str | None = None) -> None:
        """Start the background work; `web_url` is where the web server listens (the tunnel's target)."""
        if web_url:
            self.tunnel.set_origin(web_url)
        if self.started:
            return
        self.started = True
        self.notifications.start()  # first, so it hears the supervisor's and the tunnel's first events
        self.supervisor.start_background()
        self.metrics.start()
        self.chat.start()
        if self.log_follower is not None:
            self.log_follower.start()
        self.workspace.start()
        self._autostart_tunnel()
        log.info("Nexus services started (data dir %s)", self.paths.root)

    def stop(self) -> None:
        """Stop everything, including a server started by hand before `start()`. Idempotent."""
        was_started, self.started = self.started, False
        self.tunnel.stop()
        if self.log_follower is not None:
            self.log_follower.stop()
        self.opencode_installer.stop()
        self.workspace.stop()  # terminals' shells end before anything they might use
        self.chat.stop()
        self.metrics.stop()
        self.supervisor.shutdown()
        self.notifications.stop()
        self.db.close()
        if was_started:
            log.info("Nexus services stopped")

    def _autostart_tunnel(self) -> None:
        if not (self.setup.completed and self.settings["tunnel.autostart"] and self.settings["tunnel.mode"] != "off"):
            return
        try:
            self.tunnel.start()
        except TunnelError as exc:  # shown as the tunnel's error state; Nexus itself runs on
            log.warning("the tunnel did not start: %s", exc)

    @property
    def analytics(self) -> ChatAnalytics:
        """Usage reports over the chat store (stateless: nothing to start or stop)."""
        return ChatAnalytics(self.db)

    @property
    def data_dir(self) -> Path:
        return self.paths.root


def _agent_options(agents: AgentService):  # noqa: ANN202
    """ChatService asks for a named agent's options; an unknown agent is the caller's 404."""
    from nexus.agents import AgentError
    from nexus.chat.service import ChatError

    def options(agent_id: str) -> dict:
        try:
            return agents.session_options(agent_id)
        except AgentError as exc:
            raise ChatError(str(exc), exc.status, exc.code) from exc

    return options
