"""Owner passwords: Argon2id with parameters from the settings, and strength feedback.

The parameters a hash was made with are recorded next to it (and inside the PHC string);
when the settings change, the next successful sign-in rehashes with the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from nexus.settings import Settings  # typed reads only: no import at run time

# argon2 is imported by the functions that hash or verify: a start answers its first request
# without signing anyone in (issue 16).

MIN_LENGTH = 10
MIN_SCORE = 2  # zxcvbn: 0 too guessable ... 4 very unguessable
SCORE_WORDS = ("very weak", "weak", "fair", "strong", "very strong")


@dataclass(frozen=True)
class HashParams:
    time_cost: int
    memory_kib: int
    parallelism: int

    @classmethod
    def from_settings(cls, settings: Settings) -> HashParams:
        return cls(settings.current.security.argon2_time_cost, settings.current.security.argon2_memory_kib,
                   settings.current.security.argon2_parallelism)

    def to_json(self) -> dict[str, int | str]:
        return {"algorithm": "argon2id", "time_cost": self.time_cost, "memory_kib": self.memory_kib,
                "parallelism": self.parallelism}

    def hasher(self) -> PasswordHasher:
        from argon2 import PasswordHasher, Type

        return PasswordHasher(time_cost=self.time_cost, memory_cost=self.memory_kib, parallelism=self.parallelism,
                              hash_len=32, salt_len=16, type=Type.ID)


def hash_password(password: str, params: HashParams) -> str:
    return params.hasher().hash(password)


def verify_password(stored_hash: str, password: str, params: HashParams) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return params.hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, params: HashParams) -> bool:
    from argon2.exceptions import InvalidHashError

    try:
        return params.hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@dataclass(frozen=True)
class Strength:
    score: int
    label: str
    acceptable: bool
    warning: str
    suggestions: list[str]

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def password_strength(password: str, user_inputs: list[str] | None = None) -> Strength:
    """zxcvbn's estimate plus a minimum length. Looks only at the first 100 characters:
    zxcvbn's cost grows fast with length and a longer password is strong anyway."""
    from zxcvbn import zxcvbn

    sample = password[:100]
    result: dict[str, Any] = zxcvbn(sample, user_inputs=[u for u in (user_inputs or []) if u] + ["nexus", "opencode"]) \
        if sample else {"score": 0, "feedback": {"warning": "", "suggestions": []}}
    score = int(result["score"])
    warning = result["feedback"].get("warning") or ""
    suggestions = list(result["feedback"].get("suggestions") or [])
    if len(password) < MIN_LENGTH:
        warning = f"Use at least {MIN_LENGTH} characters."
        score = min(score, 1)
    acceptable = len(password) >= MIN_LENGTH and score >= MIN_SCORE
    if not acceptable and not warning:
        warning = "This password would be easy to guess."
    if not acceptable and not suggestions:
        suggestions = ["A few unrelated words make a long password that is easy to remember."]
    return Strength(score, SCORE_WORDS[score], acceptable, warning, suggestions)
