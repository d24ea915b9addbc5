"""Foundation: settings, server restart history, downsampled metrics.

Revision ID: 0001_foundation
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "server_restarts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("delay", sa.Float, nullable=False, server_default="0"),
        sa.Column("outcome", sa.String(20), nullable=False, server_default="pending"),
    )
    op.create_index("ix_server_restarts_at", "server_restarts", ["at"])
    op.create_table(
        "metric_samples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("resolution", sa.Float, nullable=False),
        sa.Column("cpu_percent", sa.Float, nullable=False),
        sa.Column("rss_bytes", sa.BigInteger, nullable=False),
        sa.Column("threads", sa.Integer, nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("restarts", sa.Integer, nullable=False),
    )
    op.create_index("ix_metric_samples_at", "metric_samples", ["at"])


def downgrade() -> None:
    op.drop_table("metric_samples")
    op.drop_table("server_restarts")
    op.drop_table("settings")
