"""Alembic environment: Nexus always runs migrations in-process with a live connection."""

from alembic import context

from nexus.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite can't ALTER most things
)
with context.begin_transaction():
    context.run_migrations()
