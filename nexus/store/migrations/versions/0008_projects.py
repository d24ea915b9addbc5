"""Projects and several OpenCode servers: a session's server and origin, the folders the
owner added as projects, and the OpenCode servers attached by URL.

Revision ID: 0008_projects
Revises: 0006_security_round2
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_projects"
down_revision = "0006_security_round2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_sessions") as batch:
        batch.add_column(sa.Column("server", sa.String(64), nullable=True))
        batch.add_column(sa.Column("origin", sa.String(20), nullable=True))
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("server", sa.String(64), nullable=False, server_default="local"),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("added_at", sa.Float, nullable=False),
        sa.Column("used_at", sa.Float, nullable=False, index=True),
        sa.UniqueConstraint("server", "path", name="uq_projects_server_path"),
    )
    op.create_table(
        "opencode_servers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("username", sa.String(100), nullable=False, server_default="opencode"),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("opencode_servers")
    op.drop_table("projects")
    with op.batch_alter_table("chat_sessions") as batch:
        batch.drop_column("origin")
        batch.drop_column("server")
