"""Keep secrets out of log lines.

Two layers: patterns that catch secrets by their shape (`password=...`, `Bearer ...`,
`sk-ant-...`, `user:pass@host`, cookies), and the exact values Nexus itself generated or
was handed (the OpenCode server password, API keys) which are registered at run time
and replaced wherever they appear, whatever surrounds them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import Any

MASK = "[REDACTED]"

# A key is secret when it *ends* with one of these words: `auth_token` is, `max_tokens` is not.
_SECRET_KEYS = r"(?:pass(?:word|wd|phrase)?|secret|token|api[_-]?key|apikey|access[_-]?key|auth|authorization|cookie|credentials?)(?![\w-])"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer xyz / Basic xyz (header style or inline)
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + MASK),
    # whole cookie headers: every value in them is a credential
    (re.compile(r"(?i)\b(set-cookie|cookie)(\s*[:=]\s*)[^\r\n]+"), r"\1\2" + MASK),
    # key=value, key: value, "key": "value" for secret-looking keys
    (re.compile(r"(?i)([\"']?[\w-]*" + _SECRET_KEYS + r"[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"), r"\1" + MASK),
    # prose: "password is X", "api key was X"
    (re.compile(r"(?i)\b((?:password|passphrase|secret|token|api[ _-]?key)\s+(?:is|was)\s+)([\"']?)[^\s\"']+"),
     r"\1\2" + MASK),
    # credentials inside URLs: scheme://user:pass@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"), r"\1" + MASK + "@"),
    # well-known key shapes: Anthropic, OpenAI-style, GitHub, Cloudflare tunnel tokens (base64 JSON)
    (re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_-]{12,}"), MASK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{20,}={0,2}"), MASK),
    (re.compile(r"\bnxk_[A-Za-z0-9_-]{8,}"), MASK),
]

class SecretRegistry:
    """The exact secret values masked in every log line: only values Nexus made or verified
    (never whatever a stranger sends), at most `max_entries` of them (the oldest goes first),
    each under a label so it can be forgotten when revoked ("key:7", "session:…").

    Owned by the Runtime (`Runtime.redaction`), which makes it the one the log filter uses."""

    def __init__(self, max_entries: int = 2048) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._values: OrderedDict[str, str] = OrderedDict()  # value -> label, oldest first
        self._by_label: dict[str, str] = {}
        self._sorted: list[str] | None = []

    def register(self, value: str | None, label: str = "") -> None:
        # Short values are ignored: masking e.g. "1" everywhere would wreck the logs and protect nothing.
        if not value or len(value) < 6:
            return
        with self._lock:
            if label and self._by_label.get(label) not in (None, value):
                self._drop(self._by_label[label])
            self._values[value] = label
            self._values.move_to_end(value)
            if label:
                self._by_label[label] = value
            while len(self._values) > self.max_entries:
                self._drop(next(iter(self._values)))
            self._sorted = None

    def forget(self, value: str | None) -> None:
        with self._lock:
            if value is not None and value in self._values:
                self._drop(value)
                self._sorted = None

    def forget_label(self, label: str) -> None:
        with self._lock:
            value = self._by_label.get(label)
            if value is not None:
                self._drop(value)
                self._sorted = None

    def _drop(self, value: str) -> None:
        label = self._values.pop(value, "")
        if label and self._by_label.get(label) == value:
            del self._by_label[label]

    def longest_first(self) -> list[str]:
        with self._lock:
            if self._sorted is None:
                self._sorted = sorted(self._values, key=len, reverse=True)
            return self._sorted

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values


_active = SecretRegistry()


def use_registry(registry: SecretRegistry) -> SecretRegistry:
    """Make `registry` the one log lines are cleaned with (the Runtime calls this)."""
    global _active
    _active = registry
    return registry


def active_registry() -> SecretRegistry:
    return _active


def register_secret(value: str | None, label: str = "") -> None:
    """Make sure this exact value never appears in a log line: for values Nexus generated or
    verified. Anything a client merely presented must be checked first."""
    _active.register(value, label)


def forget_secret(value: str | None) -> None:
    _active.forget(value)


def redact(text: str) -> str:
    for secret in _active.longest_first():
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: (MASK if re.fullmatch(r"(?i)[\w-]*" + _SECRET_KEYS, str(k)) else _redact_value(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v) for v in value)
    return value


def redact_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A parsed log line cleaned again: lines are redacted when written, but a secret
    registered later (an API key first seen after the line was logged) is caught here."""
    return {key: (value if key in ("ts", "time", "level", "source", "id") else _redact_value(value))
            for key, value in entry.items()}


class RedactionFilter(logging.Filter):
    """Attached to every handler, so a record is cleaned whichever logger made it.

    The message is rendered here (args merged in) so a secret passed as an argument is
    caught too; exception text is rendered and cleaned as well.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        # Keep the traceback text but drop the live objects so no formatter re-renders them raw.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = _redact_value(fields)
        return True
