"""Sub-agent sessions, to-do lists and undo state of chat sessions.

`parent_id`: the Nexus session whose agent started this one (OpenCode's `task` tool); such
sessions are listed under their parent, not on their own. `todos`: the agent's to-do list
(JSON). `revert`: the point the session was undone to, while it can still be redone (JSON).

Revision ID: 0010_parity_b
Revises: 0009_parity_a
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_parity_b"
down_revision = "0009_parity_a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_sessions") as batch:
        batch.add_column(sa.Column("parent_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("todos", sa.Text, nullable=True))
        batch.add_column(sa.Column("revert", sa.Text, nullable=True))
        batch.create_index("ix_chat_sessions_parent_id", ["parent_id"])


def downgrade() -> None:
    with op.batch_alter_table("chat_sessions") as batch:
        batch.drop_index("ix_chat_sessions_parent_id")
        batch.drop_column("revert")
        batch.drop_column("todos")
        batch.drop_column("parent_id")
