"""Logging for the whole app: one setup, JSON lines on disk, redaction everywhere."""

from nexus.logs.redaction import RedactionFilter, redact, register_secret
from nexus.logs.setup import configure_logging, shutdown_logging

__all__ = ["RedactionFilter", "configure_logging", "redact", "register_secret", "shutdown_logging"]
