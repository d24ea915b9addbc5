"""Tables. Times are UNIX epoch seconds (floats) so SQL stays portable across databases."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)  # JSON
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)


class ServerRestart(Base):
    """One entry of the OpenCode server's restart history: why, and how it ended."""

    __tablename__ = "server_restarts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    reason: Mapped[str] = mapped_column(String(40), nullable=False)  # crashed, unhealthy, manual, ...
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    delay: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")  # pending, ok, failed, gave-up


class MetricSample(Base):
    """Downsampled server metrics: one row per `resolution` seconds."""

    __tablename__ = "metric_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    resolution: Mapped[float] = mapped_column(Float, nullable=False)
    cpu_percent: Mapped[float] = mapped_column(Float, nullable=False)
    rss_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    threads: Mapped[int] = mapped_column(Integer, nullable=False)
    requests: Mapped[int] = mapped_column(Integer, nullable=False)
    errors: Mapped[int] = mapped_column(Integer, nullable=False)
    restarts: Mapped[int] = mapped_column(Integer, nullable=False)



# ----- security (migration 0002_security) -------------------------------------------------

class AuthOwner(Base):
    """The single owner account (id 1). Lockout counters live here: there is one account."""

    __tablename__ = "auth_owner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)  # Argon2id, PHC string
    hash_params: Mapped[str] = mapped_column(Text, nullable=False)  # JSON: the parameters it was made with
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    password_changed_at: Mapped[float] = mapped_column(Float, nullable=False)
    failed_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_since: Mapped[float | None] = mapped_column(Float, nullable=True)
    locked_until: Mapped[float | None] = mapped_column(Float, nullable=True)


class AuthSession(Base):
    """A signed-in browser. The id is the SHA-256 of the cookie value, never the value itself."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # password, desktop
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    last_seen_at: Mapped[float] = mapped_column(Float, nullable=False)
    expires_at: Mapped[float] = mapped_column(Float, nullable=False)  # absolute expiry
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    via: Mapped[str] = mapped_column(String(20), nullable=False, default="local")  # local, tunnel
    client: Mapped[str] = mapped_column(String(200), nullable=False, default="")


class ApiKey(Base):
    """A key for scripts. Only its SHA-256 is kept; the prefix lets the owner recognise it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(20), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True, index=True)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class AuditEvent(Base):
    """One security event: sign-ins, failures, lockouts, keys, tunnel start/stop."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    via: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")


class SetupProgress(Base):
    """Where the first-run wizard is (id 1), so a crash mid-setup resumes at the same step."""

    __tablename__ = "setup_progress"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step: Mapped[str] = mapped_column(String(20), nullable=False)
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)


class UsageColumns:
    """Token and cost counters, kept per message and summed per session."""

    tokens_input: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tokens_output: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tokens_reasoning: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tokens_cache_read: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tokens_cache_write: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    cost: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)


class ChatSessionRow(UsageColumns, Base):
    """A chat session as Nexus keeps it (the engine's own copy may be lost; this is not)."""

    __tablename__ = "chat_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    engine: Mapped[str] = mapped_column(String(20), nullable=False)
    engine_ref: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    agent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    directory: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Which OpenCode server runs it (NULL: the one Nexus spawns) and who started it ("adopted":
    # another client of that server, e.g. the terminal UI). Migration 0008_projects.
    server: Mapped[str | None] = mapped_column(String(64), nullable=True)
    origin: Mapped[str | None] = mapped_column(String(20), nullable=True)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="active", index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="idle")
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    deleted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    options: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: the agent configuration used
    # A sub-agent's session names its parent; the agent's to-do list and the undo state are
    # JSON (migration 0010_parity_b).
    parent_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    todos: Mapped[str | None] = mapped_column(Text, nullable=True)
    revert: Mapped[str | None] = mapped_column(Text, nullable=True)


class ChatMessageRow(UsageColumns, Base):
    __tablename__ = "chat_messages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), ForeignKey("chat_sessions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    finish: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON


class ChatPartRow(Base):
    __tablename__ = "chat_parts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), ForeignKey("chat_messages.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    session_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # JSON: the rest of the part
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)


# ----- notifications (migration 0004_notifications) -------------------------------------

class NotificationRow(Base):
    """One notification for the owner (server crash, tunnel down, ...), read or unread."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    level: Mapped[str] = mapped_column(String(20), nullable=False, default="info")  # info, success, warning, error
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    link: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    read_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)


class AgentRow(Base):
    """A named agent configuration: engine, model, system prompt, tools and limits."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    engine: Mapped[str] = mapped_column(String(20), nullable=False)
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    opencode_agent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    system_prompt: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tools: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list of enabled tools; NULL = all
    temperature: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    thinking_budget: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)


# --- issue 12 (security round two): what an API key may do, and where it was last used from ---

class ApiKeyGrant(Base):
    """A key's scopes and whether it works through the tunnel. A key with no row (made before
    scopes existed) is read-only and local-only: safe by default."""

    __tablename__ = "api_key_grants"

    key_id: Mapped[int] = mapped_column(Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True)
    scopes: Mapped[str] = mapped_column(String(100), nullable=False, default="read")  # comma separated
    remote: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_used_ip: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    last_used_via: Mapped[str] = mapped_column(String(20), nullable=False, default="")


# ----- projects and OpenCode servers (migration 0008_projects) ---------------------------

class ProjectRow(Base):
    """A folder the owner added as a project (OpenCode's own projects are asked for live)."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("server", "path", name="uq_projects_server_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server: Mapped[str] = mapped_column(String(64), nullable=False, default="local")
    path: Mapped[str] = mapped_column(Text, nullable=False)
    added_at: Mapped[float] = mapped_column(Float, nullable=False)
    used_at: Mapped[float] = mapped_column(Float, nullable=False, index=True)


class OpenCodeServerRow(Base):
    """An OpenCode server attached by URL; its password lives in the secret store."""

    __tablename__ = "opencode_servers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    username: Mapped[str] = mapped_column(String(100), nullable=False, default="opencode")
    created_at: Mapped[float] = mapped_column(Float, nullable=False)


# ----- parity-a (migration 0009_parity_a) -------------------------------------------------

class ChatPendingRow(Base):
    """Something waiting on a session: a question the agent asked (kind "question"), or a
    message the user queued while the agent worked (kind "queued"); `data` is its JSON."""

    __tablename__ = "chat_pending"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(64), ForeignKey("chat_sessions.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
