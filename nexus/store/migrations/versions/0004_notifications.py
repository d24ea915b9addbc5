"""Notifications: server crashes and restarts, tunnel up/down, permission requests.

Revision ID: 0004_notifications
Revises: 0003_chat
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_notifications"
down_revision = "0003_chat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("level", sa.String(20), nullable=False, server_default="info"),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False, server_default=""),
        sa.Column("link", sa.String(300), nullable=False, server_default=""),
        sa.Column("read_at", sa.Float, nullable=True),
    )
    op.create_index("ix_notifications_at", "notifications", ["at"])
    op.create_index("ix_notifications_read_at", "notifications", ["read_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_read_at", "notifications")
    op.drop_index("ix_notifications_at", "notifications")
    op.drop_table("notifications")
