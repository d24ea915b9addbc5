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

from nexus.agents import AgentService
from nexus.agents.repository import AgentRepository
from nexus.analytics import ChatAnalytics
from nexus.auth import AuditLog, AuthRepository, AuthService
from nexus.bus import EventBus
from nexus.chat.engines.anthropic import AnthropicEngine
from nexus.chat.engines.opencode import OpenCodeEngine
from nexus.chat.repository import ChatRepository
from nexus.chat.service import ChatService
from nexus.logs import configure_logging
from nexus.logs.follower import LogFollower
from nexus.logs.redaction import SecretRegistry, use_registry
from nexus.notifications import NotificationCenter, NotificationRepository
from nexus.paths import DataPaths, resolve_data_dir
from nexus.projects.repository import ProjectRepository
from nexus.projects.service import ProjectService
from nexus.retention import Retention
from nexus.secrets import SecretStore
from nexus.server.child_record import ChildRecord
from nexus.server.metrics import MetricsSampler
from nexus.server.repository import MetricsRepository, RestartRepository
from nexus.server.supervisor import ATTACH_PASSWORD_SECRET, Supervisor
from nexus.servers.registry import ServerRegistry
from nexus.servers.repository import ServerRepository
from nexus.settings import Settings
from nexus.settings_repository import SettingsRepository
from nexus.setup import SetupWizard
from nexus.setup.opencode_install import OpenCodeInstaller
from nexus.store import StoreError
from nexus.store.database import Database, sqlite_url
from nexus.store.space import unusable_data_dir
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
    agents: AgentService
    anthropic: AnthropicEngine
    started: bool = False
    log_follower: LogFollower | None = None  # new lines of the log, published as `logs.lines`
    redaction: SecretRegistry | None = None  # the exact secrets masked in log lines (bounded)
    retention: Retention | None = None  # purges deleted chat sessions and expired sign-ins on time
    servers: ServerRegistry | None = None  # every OpenCode server: the spawned one and attached ones
    projects: ProjectService | None = None
    # The setup wizard's `npm install -g opencode-ai` (nexus/setup/opencode_install.py).
    opencode_installer: OpenCodeInstaller = field(default_factory=OpenCodeInstaller)

    @classmethod
    def open(cls, data_dir: str | os.PathLike[str] | None = None, *, database_url: str | None = None,
             console_log: bool = True) -> Runtime:
        """Open the store and build the services. Raises StoreError for an unusable store."""
        root = resolve_data_dir(data_dir)
        try:
            paths = DataPaths(root).ensure()
            redaction = use_registry(SecretRegistry())
            # Log to the file from the first line on, with defaults; the stored settings
            # (level, rotation) are applied as soon as they can be read.
            configure_logging(paths.log_file, console=console_log)
            probe = paths.root / ".nexus-write-check"
            probe.write_bytes(b"x" * 4096)  # a full disk or read-only folder shows here, not mid-write later
            probe.unlink()
        except OSError as exc:
            raise StoreError(unusable_data_dir(root, exc)) from None
        db = Database.open(database_url or os.environ.get("NEXUS_DATABASE_URL") or sqlite_url(paths.database))
        bus = EventBus()
        settings = Settings(SettingsRepository(db), bus)

        def configure_from_settings() -> None:
            configure_logging(paths.log_file, console=console_log, level=settings.current.logs.level,
                              max_bytes=settings.current.logs.max_bytes, backup_count=settings.current.logs.backup_count,
                              retention_days=settings.current.logs.retention_days)

        configure_from_settings()

        def apply_log_settings(event) -> None:
            if any(key.startswith("logs.") for key in event.data["keys"]):
                configure_from_settings()

        bus.listen(apply_log_settings, topics=["settings.changed"])
        secrets = SecretStore.open(paths.root)
        supervisor = Supervisor(settings, bus, RestartRepository(db), paths.default_workspace,
                                attach_password=lambda: secrets.get(ATTACH_PASSWORD_SECRET),
                                child_record=ChildRecord(paths.root / "opencode.pid", secrets))
        metrics = MetricsSampler(supervisor, settings, bus, MetricsRepository(db))
        chat = ChatService(ChatRepository(db), bus)
        chat.add_engine(OpenCodeEngine(supervisor, chat))
        servers = _server_registry(supervisor, db, secrets, settings, bus, chat)
        anthropic = AnthropicEngine(chat, settings=settings, secrets=secrets,
                                    workspace=lambda: Path(settings.current.server.workspace
                                                               or paths.default_workspace).expanduser())
        chat.add_engine(anthropic)
        agents = AgentService(AgentRepository(db))
        chat.agent_configs = _agent_options(agents)
        auth_repo = AuthRepository(db)
        audit = AuditLog(auth_repo, bus)
        auth = AuthService(auth_repo, settings, audit, redaction=redaction)
        setup = SetupWizard(auth_repo, settings, auth, secrets, paths.root, paths.default_workspace)
        tunnel = TunnelManager(settings, secrets, paths.root, bus=bus, audit=audit)
        notifications = NotificationCenter(NotificationRepository(db), settings, bus,
                                           session_title=lambda sid: (chat.repo.get_session(sid) or {}).get("title"))
        workspace = WorkspaceService(settings, bus, paths.default_workspace, chat.repo.get_session,
                                     supervisor=supervisor, servers=servers)
        projects = ProjectService(ProjectRepository(db), chat.repo, servers,
                                  lambda: Path(settings.current.server.workspace or paths.default_workspace).expanduser())
        return cls(paths, db, bus, settings, supervisor, metrics, chat, secrets=secrets, audit=audit, auth=auth,
                   setup=setup, tunnel=tunnel, notifications=notifications, workspace=workspace, agents=agents,
                   anthropic=anthropic, log_follower=LogFollower(paths.log_file, bus),
                   retention=Retention(chat, auth_repo, settings), redaction=redaction, servers=servers,
                   projects=projects)

    def start(self, web_url: str | None = None) -> None:
        """Start the background work; `web_url` is where the web server listens (the tunnel's target)."""
        if web_url:
            self.tunnel.set_origin(web_url)
        if self.started:
            return
        self.started = True
        self.notifications.start()  # first, so it hears the supervisor's and the tunnel's first events
        self.supervisor.start_background()
        if self.servers is not None:
            self.servers.start()
        self.metrics.start()
        self.chat.start()
        if self.log_follower is not None:
            self.log_follower.start()
        self.workspace.start()
        if self.retention is not None:
            self.retention.start()
        self._autostart_tunnel()
        log.info("Nexus services started (data dir %s)", self.paths.root)

    def stop(self) -> None:
        """Stop everything, including a server started by hand before `start()`. Idempotent."""
        was_started, self.started = self.started, False
        # Each step on its own: one that raises (a terminal whose OpenCode client was closed by
        # a restart, say) is logged and never skips the next, above all stopping OpenCode.
        steps = [("retention", self.retention.stop if self.retention else None), ("the tunnel", self.tunnel.stop),
                 ("the log follower", self.log_follower.stop if self.log_follower else None),
                 ("the OpenCode installer", self.opencode_installer.stop),
                 ("the terminals", self.workspace.stop),  # shells end before anything they use
                 ("chat", self.chat.stop), ("metrics", self.metrics.stop),
                 ("attached OpenCode servers", self.servers.stop if self.servers else None),
                 ("OpenCode", self.supervisor.shutdown), ("notifications", self.notifications.stop),
                 ("the store", self.db.close)]
        for what, step in steps:
            if step is None:
                continue
            try:
                step()
            except Exception:
                log.exception("stopping %s failed; going on with the rest", what)
        if was_started:
            log.info("Nexus services stopped")

    def _autostart_tunnel(self) -> None:
        if not (self.setup.completed and self.settings.current.tunnel.autostart and self.settings.current.tunnel.mode != "off"):
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


def _server_registry(supervisor: Supervisor, db: Database, secrets: SecretStore, settings: Settings,
                     bus: EventBus, chat: ChatService) -> ServerRegistry:
    """The attached OpenCode servers, each with its own OpenCode engine in the chat service."""
    servers = ServerRegistry(supervisor, ServerRepository(db), secrets, settings, bus)
    servers.on_added.append(lambda server: chat.add_server_engine(server.id, OpenCodeEngine(server, chat, server.id)))
    servers.on_removed.append(chat.remove_server_engine)
    chat.server_info = lambda server_id: (servers.state_of(server_id), servers.name_of(server_id))
    chat.adopt_policy = lambda: settings.current.chat.adopt
    servers.load()
    return servers


def _agent_options(agents: AgentService):
    """ChatService asks for a named agent's options; an unknown agent is the caller's 404."""
    from nexus.agents import AgentError
    from nexus.chat.service import ChatError

    def options(agent_id: str) -> dict:
        try:
            return agents.session_options(agent_id)
        except AgentError as exc:
            raise ChatError(str(exc), exc.status, exc.code) from exc

    return options
