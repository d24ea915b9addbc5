"""Persistence: SQLAlchemy 2.0 over SQLite by default (any SQLAlchemy URL works)."""

from nexus.store.database import Database, StoreError

__all__ = ["Database", "StoreError"]
