"""Chat: sessions, messages, parts, and full-text search over message text.

Revision ID: 0003_chat
Revises: 0002_security
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_chat"
down_revision = "0002_security"
branch_labels = None
depends_on = None


def _tokens() -> list[sa.Column]:
    return [sa.Column(f"tokens_{k}", sa.BigInteger, nullable=False, server_default="0")
            for k in ("input", "output", "reasoning", "cache_read", "cache_write")]


def upgrade() -> None:
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("engine", sa.String(20), nullable=False),
        sa.Column("engine_ref", sa.String(100), nullable=True),
        sa.Column("title", sa.String(300), nullable=False, server_default=""),
        sa.Column("agent", sa.String(100), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("directory", sa.Text, nullable=True),
        sa.Column("state", sa.String(20), nullable=False, server_default="active"),
        sa.Column("status", sa.String(20), nullable=False, server_default="idle"),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("deleted_at", sa.Float, nullable=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
        *_tokens(),
        sa.Column("cost", sa.Float, nullable=False, server_default="0"),
    )
    op.create_index("ix_chat_sessions_engine_ref", "chat_sessions", ["engine_ref"])
    op.create_index("ix_chat_sessions_state", "chat_sessions", ["state"])
    op.create_index("ix_chat_sessions_updated_at", "chat_sessions", ["updated_at"])
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("chat_sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=True),
        sa.Column("completed_at", sa.Float, nullable=True),
        sa.Column("agent", sa.String(100), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("finish", sa.String(40), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        *_tokens(),
        sa.Column("cost", sa.Float, nullable=False, server_default="0"),
    )
    op.create_index("ix_chat_messages_session_id", "chat_messages", ["session_id"])
    op.create_table(
        "chat_parts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.String(64), sa.ForeignKey("chat_messages.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_chat_parts_message_id", "chat_parts", ["message_id"])
    op.create_index("ix_chat_parts_session_id", "chat_parts", ["session_id"])
    if op.get_bind().dialect.name == "sqlite":
        # Full-text search over message text; other databases fall back to LIKE.
        op.execute("CREATE VIRTUAL TABLE chat_search USING fts5(text, part_id UNINDEXED, session_id UNINDEXED, "
                   "tokenize='unicode61 remove_diacritics 2')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS chat_search")
    op.drop_table("chat_parts")
    op.drop_table("chat_messages")
    op.drop_table("chat_sessions")
