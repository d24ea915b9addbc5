"""Logging for the whole app: one setup, JSON lines on disk, redaction everywhere."""

from nexus.logs.redact import RedactionFilter, register_secret, redact
from nexus.logs.setup import configure_logging, shutdown_logging

__all__ = ["RedactionFilter", "register_secret", "redact", "configure_logging", "shutdown_logging"]
