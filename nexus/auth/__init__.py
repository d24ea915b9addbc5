"""Sign-in and everything around it: the owner account (Argon2id), sessions, lockout,
CSRF tokens, API keys, the desktop window's one-time token, rate limits and the audit log."""

from nexus.auth.audit import AuditLog
from nexus.auth.repository import AuthRepository
from nexus.auth.service import AuthError, AuthService, Session, csrf_for

__all__ = ["AuditLog", "AuthError", "AuthRepository", "AuthService", "Session", "csrf_for"]
