"""What waits on a chat session: questions the agent asked, messages queued while it works.

Revision ID: 0009_parity_a
Revises: 0008_projects
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_parity_a"
down_revision = "0008_projects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_pending",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("chat_sessions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_chat_pending_session_id", "chat_pending", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_chat_pending_session_id", "chat_pending")
    op.drop_table("chat_pending")
