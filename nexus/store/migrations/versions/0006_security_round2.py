"""Security round two: API-key scopes, "usable remotely", and where a key was last used from.

Keys made before this have no grant row and are read-only and local-only (safe by default);
the keys page says so and the owner can make a new key with the scopes a script needs.

Revision ID: 0006_security_round2
Revises: 0005_agents
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_security_round2"
down_revision = "0005_agents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_key_grants",
        sa.Column("key_id", sa.Integer, sa.ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("scopes", sa.String(100), nullable=False, server_default="read"),
        sa.Column("remote", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("last_used_ip", sa.String(64), nullable=False, server_default=""),
        sa.Column("last_used_via", sa.String(20), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("api_key_grants")
