"""The owner account, sign-in sessions, lockout, CSRF tokens, API keys and the desktop
window's one-time token. Plain Python: the Flask layer only carries cookies and headers.

Secrets are never stored as they are: session cookies and API keys are random 256-bit
values kept as their SHA-256 (a fast hash is right for values that cannot be guessed),
the password as Argon2id. CSRF tokens are derived from the session value, so a stolen
database yields neither.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nexus.auth.audit import AuditLog
from nexus.auth.lockout import Lockout, client_of
from nexus.auth.passwords import HashParams, hash_password, needs_rehash, password_strength, verify_password
from nexus.auth.ratelimit import RateLimiter
from nexus.auth.repository import AuthRepository, KeyRecord, SessionRecord
from nexus.auth.scopes import normalize_scopes
from nexus.errors import ServiceError
from nexus.logs.redaction import SecretRegistry, active_registry

if TYPE_CHECKING:
    from nexus.settings import Settings  # typed reads only: no import at run time

log = logging.getLogger(__name__)

KEY_PREFIX = "nxk_"
DESKTOP_TOKEN_SECONDS = 120.0
TOUCH_EVERY = 60.0  # write last_seen at most once a minute per session
REAUTH_SECONDS = 600.0  # security changes need the password typed within this long


class AuthError(ServiceError):
    def __init__(self, status: int, message: str, code: str, **details: Any) -> None:
        super().__init__(message, status, code, **details)


@dataclass(frozen=True)
class Session:
    token: str  # the cookie value: only in memory, for this request
    record: SessionRecord

    @property
    def csrf(self) -> str:
        return csrf_for(self.token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(value: str) -> str:
    """The CSRF token that goes with a session (or anonymous) cookie value."""
    return hmac.new(value.encode(), b"nexus-csrf-v1", hashlib.sha256).hexdigest()


def minutes_text(seconds: float) -> str:
    minutes = int((seconds + 59) // 60)
    return "1 minute" if minutes <= 1 else f"{minutes} minutes"


class AuthService:
    def __init__(self, repo: AuthRepository, settings: Settings, audit: AuditLog,
                 clock: Callable[[], float] = time.time, redaction: SecretRegistry | None = None) -> None:
        self._repo = repo
        # Secrets to mask in logs: only ones made or verified here, forgotten when they end.
        self._secrets_seen = redaction if redaction is not None else active_registry()
        self._settings = settings
        self.audit = audit
        self._clock = clock
        self._lock = threading.Lock()  # login attempts are judged one at a time (the counters must not race)
        self.limiter = RateLimiter()
        self.lockout = Lockout(settings, repo, clock=lambda: self._clock())
        self._desktop_tokens: dict[str, float] = {}  # hash -> expiry; memory only, one process
        # Until an owner exists nothing answers without this (as Jupyter's token): `nexus serve`
        # prints it in its address; a new one every start, gone once the owner is created.
        self._setup_token = secrets.token_urlsafe(32)
        self._confirmed: dict[str, float] = {}  # session id -> when its password was last typed (memory only)
        self._secrets_seen.register(self._setup_token, label="setup-token")
        self._dummy: tuple[HashParams, str] | None = None

    # --- the owner ------------------------------------------------------------------------
    def has_owner(self) -> bool:
        return self._repo.owner() is not None

    def username(self) -> str | None:
        owner = self._repo.owner()
        return owner.username if owner else None

    def set_owner(self, username: str, password: str, *, current_password: str | None = None,
                  ip: str = "", via: str = "local") -> None:
        """Create the owner (setup), or replace the credentials given the current password."""
        username = username.strip()
        if not 1 <= len(username) <= 100:
            raise AuthError(422, "Choose a user name of 1 to 100 characters.", "bad_username", field="username")
        strength = password_strength(password, [username])
        if not strength.acceptable:
            raise AuthError(422, f"That password is too weak: {strength.warning}", "weak_password",
                            field="password", strength=strength.to_json())
        owner = self._repo.owner()
        if owner is not None and (current_password is None or not verify_password(
                owner.password_hash, current_password, HashParams(**_params(owner.hash_params)))):
            raise AuthError(403, "The current password is not correct.", "wrong_password", field="current_password")
        params = HashParams.from_settings(self._settings)
        self._secrets_seen.register(password, label="password")
        self._repo.save_owner(username, hash_password(password, params), params.to_json())
        if owner is None:  # the setup token and what it opened end with the first run
            self._repo.delete_sessions_of_kind("setup")
            self._secrets_seen.forget_label("setup-token")
        self.audit.record("owner-created" if owner is None else "password-changed", ip=ip, via=via,
                          detail=f"user {username}")

    # --- signing in -------------------------------------------------------------------------
    def lockout_remaining(self, ip: str = "", via: str = "local") -> float:
        """Seconds until this client (nexus/auth/lockout.py) may try to sign in again."""
        return self.lockout.remaining(client_of(ip, via))

    def login(self, username: str, password: str, *, ip: str, via: str, client: str = "") -> Session:
        """A new session, or AuthError (401 wrong credentials, 423 locked, 429 rate limited)."""
        self._verify(username, password, ip=ip, via=via)
        session = self._new_session("password", ip, via, client)
        self._mark_confirmed(session.record.id, session.record.created_at)
        self.audit.record("login", ip=ip, via=via)
        return session

    def confirm_password(self, session: Session, password: str, *, ip: str, via: str) -> None:
        """The owner, present: the password entered again in this session (counted like a sign-in)."""
        self._verify(self.username() or "", password, ip=ip, via=via)
        self._mark_confirmed(session.record.id, self._clock())
        self.audit.record("password-confirmed", ip=ip, via=via)

    def _mark_confirmed(self, session_id: str, at: float) -> None:
        with self._lock:
            if len(self._confirmed) >= 1000:  # only recent ones matter: keep the map small
                now = self._clock()
                self._confirmed = {k: t for k, t in self._confirmed.items() if now - t <= REAUTH_SECONDS}
            self._confirmed[session_id] = at

    def recently_confirmed(self, session: Session | None) -> bool:
        """Whether this browser session had the password typed in the last REAUTH_SECONDS: what
        security changes need (a stolen key, or a session cookie left open, is not enough)."""
        if session is None:
            return False
        at = self._confirmed.get(session.record.id)
        return at is not None and self._clock() - at <= REAUTH_SECONDS

    def write_wait(self, client: str) -> float:
        """Count one change by `client` (an API key or an address) against the per-minute
        limit; the seconds to wait before the next one is allowed, 0 when this one is."""
        return self.limiter.hit(f"write:{client}", self._settings["security.write_rate_per_minute"])

    def _verify(self, username: str, password: str, *, ip: str, via: str) -> None:
        wait = self.limiter.hit(f"login:{ip}", self._settings.current.security.login_rate_per_minute)
        if wait:
            raise AuthError(429, f"Too many sign-in attempts from this address. Try again in {int(wait) + 1} s.",
                            "rate_limited", retry_after=int(wait) + 1)
        client = client_of(ip, via)
        with self._lock:
            owner = self._repo.owner()
            remaining = self.lockout.remaining(client)
            if remaining > 0:
                self.audit.record("login-failed", ip=ip, via=via, detail="refused while locked")
                where = "this computer" if client == "local" else "this address (or through the tunnel)"
                raise AuthError(423, f"Sign-in from {where} is locked after too many failed attempts. Try again in "
                                     f"{minutes_text(remaining)}.", "locked", retry_after=int(remaining) + 1)
            # Always one full Argon2 verification, whichever part is wrong: a wrong user name
            # must take as long as a wrong password (no early return).
            if owner is None:
                params, stored = self._dummy_hash()
                ok_user = False
            else:
                params, stored = HashParams(**_params(owner.hash_params)), owner.password_hash
                ok_user = hmac.compare_digest(owner.username.encode(), username.strip().encode())
            ok_password = verify_password(stored, password, params)
            if not (ok_user and ok_password) or owner is None:
                self.audit.record("login-failed", ip=ip, via=via)
                if owner is not None:
                    locked, wait = self.lockout.failed(client)
                    if locked:
                        self.audit.record("lockout", ip=ip, via=via,
                                          detail=f"{client}: locked for {minutes_text(wait)}")
                raise AuthError(401, "The user name or password is not correct.", "bad_credentials")
            self._secrets_seen.register(password, label="password")  # verified: only the real one is worth masking
            self.lockout.succeeded(client)  # this client only: the tunnel's hourly budget is not refunded
            current = HashParams.from_settings(self._settings)
            if needs_rehash(owner.password_hash, current):
                self._repo.rehash_owner(hash_password(password, current), current.to_json())
                log.info("owner password rehashed with the new Argon2 parameters")

    def _dummy_hash(self) -> tuple[HashParams, str]:
        params = HashParams.from_settings(self._settings)
        if self._dummy is None or self._dummy[0] != params:
            self._dummy = (params, hash_password(secrets.token_urlsafe(16), params))
        return self._dummy

    def _new_session(self, kind: str, ip: str, via: str, client: str) -> Session:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        self._secrets_seen.register(token, label=f"session:{token_hash(token)}")
        record = SessionRecord(token_hash(token), kind, now, now,
                               now + self._settings.current.security.session_max_days * 86400, ip[:64], via, client[:200])
        self._repo.add_session(record)
        return Session(token, record)

    def session(self, token: str | None) -> Session | None:
        """The live session for a cookie value; expired ones (idle or absolute) are deleted."""
        if not token or len(token) > 200:
            return None
        record = self._repo.session(token_hash(token))
        if record is None:
            return None
        now = self._clock()
        idle = self._settings.current.security.session_idle_minutes * 60
        if record.expires_at <= now or record.last_seen_at + idle <= now:
            self._end_session(record.id)
            return None
        self._secrets_seen.register(token, label=f"session:{record.id}")
        if now - record.last_seen_at >= TOUCH_EVERY:
            self._repo.touch_session(record.id, now)
        return Session(token, record)

    def _end_session(self, session_id: str) -> None:
        self._repo.delete_session(session_id)
        self._confirmed.pop(session_id, None)
        self._secrets_seen.forget_label(f"session:{session_id}")

    def logout(self, session: Session, *, ip: str = "", via: str = "") -> None:
        self._end_session(session.record.id)
        self.audit.record("logout", ip=ip, via=via)

    def logout_all(self, *, ip: str = "", via: str = "", keep: Session | None = None) -> int:
        ended = self._repo.delete_sessions_except(keep.record.id if keep else None)
        self.audit.record("logout-all", ip=ip, via=via, detail=f"{ended} sessions ended")
        return ended

    def change_password(self, session: Session | None, current: str, new: str, *, ip: str = "",
                        via: str = "") -> int:
        """Change the password; every other session ends. Returns how many ended."""
        username = self.username()
        if username is None:
            raise AuthError(409, "There is no owner account yet: finish the setup first.", "no_owner")
        self.set_owner(username, new, current_password=current, ip=ip, via=via)
        return self._repo.delete_sessions_except(session.record.id if session else None)

    def session_count(self) -> int:
        return self._repo.count_sessions()

    # --- the first run's setup token ----------------------------------------------------------
    def setup_token(self) -> str | None:
        """The token `nexus serve` prints in its address, or None once an owner exists."""
        return None if self.has_owner() else self._setup_token

    def redeem_setup_token(self, token: str, *, ip: str, client: str = "") -> Session:
        """A session for whoever opened the printed address (loopback only; the UI layer checks)."""
        if self.has_owner() or not hmac.compare_digest(token_hash(token or ""), token_hash(self._setup_token)):
            raise AuthError(401, "This setup link is not valid: open the address `nexus serve` printed, or the "
                                 "Nexus window.", "bad_setup_token")
        session = self._new_session("setup", ip, "local", client)
        self.audit.record("setup-token", ip=ip, via="local")
        return session

    # --- the desktop window's one-time token ------------------------------------------------
    def issue_desktop_token(self, ttl: float = DESKTOP_TOKEN_SECONDS) -> str:
        """For the launcher to hand to the window it opens (`/auth/desktop?token=...`)."""
        token = secrets.token_urlsafe(32)
        self._secrets_seen.register(token, label=f"desktop:{token_hash(token)}")  # ours: it travels in a URL
        now = self._clock()
        with self._lock:
            self._desktop_tokens = {h: t for h, t in self._desktop_tokens.items() if t > now}
            self._desktop_tokens[token_hash(token)] = now + ttl
        return token

    def redeem_desktop_token(self, token: str, *, ip: str, client: str = "") -> Session:
        """Only ever called for loopback requests (the UI layer checks); works once."""
        with self._lock:
            expiry = self._desktop_tokens.pop(token_hash(token or ""), None)
        if expiry is None or expiry <= self._clock():
            raise AuthError(401, "This sign-in link has expired or was already used. Sign in with your "
                                 "password, or reopen the Nexus window.", "bad_desktop_token")
        session = self._new_session("desktop", ip, "local", client)
        self.audit.record("desktop-login", ip=ip, via="local")
        return session

    # --- API keys -----------------------------------------------------------------------------
    def create_key(self, name: str, *, scopes: object = None, remote: object = False, ip: str = "",
                   via: str = "") -> tuple[KeyRecord, str]:
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise AuthError(422, "Give the key a name of 1 to 100 characters (what will use it?).", "bad_name",
                            field="name")
        try:
            granted = normalize_scopes(scopes)
        except ValueError as exc:
            raise AuthError(422, f"Choose the key's scopes: {exc}.", "bad_scopes", field="scopes") from None
        if not isinstance(remote, bool):
            raise AuthError(422, "'remote' must be true or false.", "bad_remote", field="remote")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        record = self._repo.add_key(name, key[:12], token_hash(key), granted, remote)
        self._secrets_seen.register(key, label=f"key:{record.id}")
        self.audit.record("key-created", ip=ip, via=via,
                          detail=f"{record.prefix}… “{name}” ({', '.join(granted)}{'; remote' if remote else ''})")
        return record, key

    def keys(self) -> list[KeyRecord]:
        return self._repo.keys()

    def revoke_key(self, key_id: int, *, ip: str = "", via: str = "") -> KeyRecord:
        record = self._repo.revoke_key(key_id)
        if record is None:
            raise AuthError(404, f"There is no API key with id {key_id}.", "no_such_key")
        self._secrets_seen.forget_label(f"key:{key_id}")
        self.audit.record("key-revoked", ip=ip, via=via, detail=f"{record.prefix}… “{record.name}”")
        return record

    def key_for(self, presented: str, *, ip: str = "", via: str = "") -> KeyRecord | None:
        """The live key for a presented value, or None. Only a real key is remembered for
        redaction: junk tokens from strangers must not grow anything."""
        if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
            return None
        record = self._repo.key_by_hash(token_hash(presented))
        if record is None or record.revoked_at is not None:
            return None
        self._secrets_seen.register(presented, label=f"key:{record.id}")
        now = self._clock()
        if (record.last_used_at is None or now - record.last_used_at >= TOUCH_EVERY
                or (ip, via) != (record.last_used_ip, record.last_used_via)):
            self._repo.touch_key(record.id, now, ip, via)
        return record


def _params(recorded: dict[str, Any]) -> dict[str, int]:
    return {"time_cost": recorded["time_cost"], "memory_kib": recorded["memory_kib"],
            "parallelism": recorded["parallelism"]}
