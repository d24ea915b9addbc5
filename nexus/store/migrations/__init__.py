"""Alembic migrations for the Nexus store.

HEAD_REVISION lets start-up skip importing Alembic when the database is already current
(a test keeps it equal to Alembic's own head).
"""

HEAD_REVISION = "0010_parity_b"
