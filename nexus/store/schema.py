"""Tables. Times are UNIX epoch seconds (floats) so SQL stays portable across databases.

SQLAlchemy Core tables on one `metadata`, not ORM classes: the declarative ORM cost 0.2-0.7 s
of every start (issue 16) and Nexus reads and writes rows with Core statements only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()


settings = Table(
    "settings", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
    Column("updated_at", Float, nullable=False),
)

# One entry of the OpenCode server's restart history: why, and how it ended.
server_restarts = Table(
    "server_restarts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("reason", String(40), nullable=False),  # crashed, unhealthy, manual, ...
    Column("detail", Text, nullable=False, default=""),
    Column("exit_code", Integer, nullable=True),
    Column("attempt", Integer, nullable=False, default=0),
    Column("delay", Float, nullable=False, default=0.0),
    Column("outcome", String(20), nullable=False, default="pending"),  # pending, ok, failed, gave-up
)

# Downsampled server metrics: one row per `resolution` seconds.
metric_samples = Table(
    "metric_samples", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("resolution", Float, nullable=False),
    Column("cpu_percent", Float, nullable=False),
    Column("rss_bytes", BigInteger, nullable=False),
    Column("threads", Integer, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("restarts", Integer, nullable=False),
)


# ----- security (migration 0002_security) -------------------------------------------------

# The single owner account (id 1). Lockout counters live here: there is one account.
auth_owner = Table(
    "auth_owner", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False),
    Column("password_hash", Text, nullable=False),  # Argon2id, PHC string
    Column("hash_params", Text, nullable=False),  # JSON: the parameters it was made with
    Column("created_at", Float, nullable=False),
    Column("password_changed_at", Float, nullable=False),
    Column("failed_count", Integer, nullable=False, default=0),
    Column("failed_since", Float, nullable=True),
    Column("locked_until", Float, nullable=True),
)

# A signed-in browser. The id is the SHA-256 of the cookie value, never the value itself.
auth_sessions = Table(
    "auth_sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),  # password, desktop
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),  # absolute expiry
    Column("ip", String(64), nullable=False, default=""),
    Column("via", String(20), nullable=False, default="local"),  # local, tunnel
    Column("client", String(200), nullable=False, default=""),
)

# A key for scripts. Only its SHA-256 is kept; the prefix lets the owner recognise it.
api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("prefix", String(20), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True, index=True),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float, nullable=True),
    Column("revoked_at", Float, nullable=True),
)

# One security event: sign-ins, failures, lockouts, keys, tunnel start/stop.
audit_events = Table(
    "audit_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("event", String(40), nullable=False),
    Column("ip", String(64), nullable=False, default=""),
    Column("via", String(20), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
)

# Where the first-run wizard is (id 1), so a crash mid-setup resumes at the same step.
setup_progress = Table(
    "setup_progress", metadata,
    Column("id", Integer, primary_key=True),
    Column("step", String(20), nullable=False),
    Column("completed_at", Float, nullable=True),
    Column("updated_at", Float, nullable=False),
)


def usage_columns() -> list[Column[object]]:
    """Token and cost counters, kept per message and summed per session (new Column objects
    for each table: a Column belongs to one table)."""
    return [
        Column("tokens_input", BigInteger, nullable=False, default=0),
        Column("tokens_output", BigInteger, nullable=False, default=0),
        Column("tokens_reasoning", BigInteger, nullable=False, default=0),
        Column("tokens_cache_read", BigInteger, nullable=False, default=0),
        Column("tokens_cache_write", BigInteger, nullable=False, default=0),
        Column("cost", Float, nullable=False, default=0.0),
    ]


# A chat session as Nexus keeps it (the engine's own copy may be lost; this is not).
chat_sessions = Table(
    "chat_sessions", metadata,
    Column("id", String(64), primary_key=True),
    Column("engine", String(20), nullable=False),
    Column("engine_ref", String(100), nullable=True, index=True),
    Column("title", String(300), nullable=False, default=""),
    Column("agent", String(100), nullable=True),
    Column("model", String(200), nullable=True),
    Column("directory", Text, nullable=True),
    # Which OpenCode server runs it (NULL: the one Nexus spawns) and who started it ("adopted":
    # another client of that server, e.g. the terminal UI). Migration 0008_projects.
    Column("server", String(64), nullable=True),
    Column("origin", String(20), nullable=True),
    Column("state", String(20), nullable=False, default="active", index=True),
    Column("status", String(20), nullable=False, default="idle"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False, index=True),
    Column("deleted_at", Float, nullable=True),
    Column("last_seq", BigInteger, nullable=False, default=0),
    Column("options", Text, nullable=True),  # JSON: the agent configuration used
    # A sub-agent's session names its parent; the agent's to-do list and the undo state are
    # JSON (migration 0010_parity_b).
    Column("parent_id", String(64), nullable=True, index=True),
    Column("todos", Text, nullable=True),
    Column("revert", Text, nullable=True),
    *usage_columns(),
)

chat_messages = Table(
    "chat_messages", metadata,
    Column("id", String(64), primary_key=True),
    Column("session_id", String(64), ForeignKey("chat_sessions.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("role", String(20), nullable=False),
    Column("created_at", Float, nullable=True),
    Column("completed_at", Float, nullable=True),
    Column("agent", String(100), nullable=True),
    Column("model", String(200), nullable=True),
    Column("finish", String(40), nullable=True),
    Column("error", Text, nullable=True),  # JSON
    *usage_columns(),
)

chat_parts = Table(
    "chat_parts", metadata,
    Column("id", String(64), primary_key=True),
    Column("message_id", String(64), ForeignKey("chat_messages.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("session_id", String(64), nullable=False, index=True),
    Column("position", Integer, nullable=False, default=0),
    Column("kind", String(20), nullable=False),
    Column("text", Text, nullable=True),
    Column("data", Text, nullable=False, default="{}"),  # JSON: the rest of the part
    Column("updated_at", Float, nullable=False),
)


# ----- notifications (migration 0004_notifications) -------------------------------------

# One notification for the owner (server crash, tunnel down, ...), read or unread.
notifications = Table(
    "notifications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("level", String(20), nullable=False, default="info"),  # info, success, warning, error
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False, default=""),
    Column("link", String(300), nullable=False, default=""),
    Column("read_at", Float, nullable=True, index=True),
)

# A named agent configuration: engine, model, system prompt, tools and limits.
agents = Table(
    "agents", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("engine", String(20), nullable=False),
    Column("model", String(200), nullable=True),
    Column("opencode_agent", String(100), nullable=True),
    Column("system_prompt", Text, nullable=False, default=""),
    Column("tools", Text, nullable=True),  # JSON list of enabled tools; NULL = all
    Column("temperature", Float, nullable=True),
    Column("max_tokens", Integer, nullable=True),
    Column("thinking_budget", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)


# --- issue 12 (security round two): what an API key may do, and where it was last used from ---

# A key's scopes and whether it works through the tunnel. A key with no row (made before
# scopes existed) is read-only and local-only: safe by default.
api_key_grants = Table(
    "api_key_grants", metadata,
    Column("key_id", Integer, ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
    Column("scopes", String(100), nullable=False, default="read"),  # comma separated
    Column("remote", Boolean, nullable=False, default=False),
    Column("last_used_ip", String(64), nullable=False, default=""),
    Column("last_used_via", String(20), nullable=False, default=""),
)


# ----- projects and OpenCode servers (migration 0008_projects) ---------------------------

# A folder the owner added as a project (OpenCode's own projects are asked for live).
projects = Table(
    "projects", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("server", String(64), nullable=False, default="local"),
    Column("path", Text, nullable=False),
    Column("added_at", Float, nullable=False),
    Column("used_at", Float, nullable=False, index=True),
    UniqueConstraint("server", "path", name="uq_projects_server_path"),
)

# An OpenCode server attached by URL; its password lives in the secret store.
opencode_servers = Table(
    "opencode_servers", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("url", String(500), nullable=False),
    Column("username", String(100), nullable=False, default="opencode"),
    Column("created_at", Float, nullable=False),
)


# ----- parity-a (migration 0009_parity_a) -------------------------------------------------

# Something waiting on a session: a question the agent asked (kind "question"), or a message
# the user queued while the agent worked (kind "queued"); `data` is its JSON.
chat_pending = Table(
    "chat_pending", metadata,
    Column("id", String(64), primary_key=True),
    Column("session_id", String(64), ForeignKey("chat_sessions.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("kind", String(20), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("data", Text, nullable=False, default="{}"),
)
