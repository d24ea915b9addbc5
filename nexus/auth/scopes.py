"""What a credential may do: API-key scopes, and the changes only the owner, present, may make.

A key carries scopes chosen when it was created. `read` is every key's; `chat` sends
prompts and stops replies; `approve` answers the agent's permission prompts and
questions; `admin` changes settings other than security ones and runs the server and the
tunnel. "owner" is not a scope a key can hold: it is a browser sign-in whose password was
typed in the last minutes (AuthService.recently_confirmed).
"""

from __future__ import annotations

from collections.abc import Iterable

SCOPES = ("read", "chat", "approve", "admin")
DEFAULT_SCOPES = ("read",)
OWNER = "owner"

# Settings that switch protections on or off, or decide what runs on this computer.
_PROTECTED_PREFIXES = ("security.", "terminal.", "tunnel.")
_PROTECTED_KEYS = {"server.protect", "server.env", "server.binary", "server.url"}


def is_protected_setting(key: str) -> bool:
    return key.startswith(_PROTECTED_PREFIXES) or key in _PROTECTED_KEYS


def protected_settings(keys: Iterable[str]) -> list[str]:
    return sorted(k for k in keys if is_protected_setting(k))


def normalize_scopes(requested: object) -> tuple[str, ...]:
    """The scopes for a new key: a list of known names ("read" is always included)."""
    if requested is None:
        return DEFAULT_SCOPES
    if not isinstance(requested, list) or not all(isinstance(s, str) for s in requested):
        raise ValueError("scopes must be a list of names: " + ", ".join(SCOPES))
    unknown = sorted(set(requested) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; choose from " + ", ".join(SCOPES))
    return tuple(s for s in SCOPES if s in set(requested) | {"read"})


def key_allows(key_scopes: Iterable[str], needed: str) -> bool:
    return needed != OWNER and needed in set(key_scopes)
