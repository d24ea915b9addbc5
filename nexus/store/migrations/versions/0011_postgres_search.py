"""Full-text search over message text on PostgreSQL (SQLite has its FTS5 table since 0003).

A stored tsvector column kept by PostgreSQL itself (so ranking never re-parses the text)
with a GIN index. The 'simple' configuration lower-cases words without stemming, like
SQLite's unicode61 tokenizer, so both stores find the same words. Nothing on SQLite.

Revision ID: 0011_postgres_search
Revises: 0010_parity_b
"""

from alembic import op

revision = "0011_postgres_search"
down_revision = "0010_parity_b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE chat_parts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
               "(CASE WHEN kind = 'text' THEN to_tsvector('simple'::regconfig, coalesce(text, '')) END) STORED")
    op.execute("CREATE INDEX ix_chat_parts_search_vector ON chat_parts USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_chat_parts_search_vector")
    op.execute("ALTER TABLE chat_parts DROP COLUMN IF EXISTS search_vector")
