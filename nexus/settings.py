"""User settings: declared once with their type, default and limits, stored in the store.

Every change is validated as a whole before anything is saved, so a bad request changes
nothing; each error names the setting and what is allowed. Services read settings when
they need them, so most changes apply without a restart.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nexus.bus import EventBus
from nexus.errors import ServiceError
from nexus.settings_repository import SettingsRepository

log = logging.getLogger(__name__)


class SettingsError(ServiceError, ValueError):
    """Values that were refused; `errors` (also `details["fields"]`) says why, per key."""

    status, code = 422, "invalid_settings"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()), fields=errors)
        self.errors = errors


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    check: Callable[[Any], str | None] | None = None  # returns an error message or None

    @property
    def kind(self) -> type[Any]:
        return type(self.default)

    def validate(self, value: Any) -> Any:
        kind = self.kind
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"must be {_KIND_NAMES[kind]}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum:g}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum:g}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}")
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise ValueError(problem)
        return value

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "type": _KIND_NAMES[self.kind], "default": self.default,
                               "description": self.description}
        for name in ("minimum", "maximum", "choices"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


_KIND_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "text", dict: "an object"}

_SECRET_NAME = re.compile(r"(?i)(key|token|secret|password|passwd|credential)")


# Names that make a program load or run other code: the dynamic loader's, and the
# interpreters' (OpenCode is a Bun/Node program that runs shells, Python, Perl, Ruby...).
_INJECTION_NAME = re.compile(
    r"(?i)(LD_\w*|DYLD_\w*|NODE_\w*|BUN_\w*|NPM_CONFIG_\w*|PYTHON\w*|PERL5\w*|PERLLIB|PERL_\w*|RUBY\w*|GEM_\w*"
    r"|BASH_ENV|BASH_FUNC_\w*|ENV|SHELLOPTS|PS4|PROMPT_COMMAND|IFS|SHELL|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS"
    r"|JDK_JAVA_OPTIONS|CLASSPATH|GIT_\w*|OPENCODE_SERVER_PASSWORD|MALLOC_\w*|GCONV_PATH|HOSTALIASES|LOCPATH|NLSPATH)")


def is_injection_name(name: str) -> bool:
    """An environment variable server.env refuses (PATH and HOME stay allowed: pointing OpenCode
    at its tools is what the setting is for, and only the owner, present, may change it)."""
    return bool(_INJECTION_NAME.fullmatch(name))


def _check_env(env: dict[str, Any]) -> str | None:
    for name, value in env.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            return f"{name!r} is not a valid environment variable name"
        if is_injection_name(name):
            return (f"{name} is refused: it can make OpenCode or the programs it starts load or run other code "
                    "(loader and interpreter variables such as LD_*, DYLD_*, NODE_OPTIONS, BUN_*, PYTHON*, PERL5*, "
                    "RUBYOPT, BASH_ENV, ENV, SHELL are never passed this way)")
        if not isinstance(value, str):
            return f"the value of {name} must be text"
        if _SECRET_NAME.search(name):
            return (f"{name} looks like a secret; Nexus does not keep secrets in its settings "
                    "(OpenCode stores provider keys itself: `opencode auth login`)")
    return None


def _check_url(url: str) -> str | None:
    if url and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
        return "must be an http:// or https:// URL, or empty to let Nexus start OpenCode itself"
    return None


def _check_api_url(url: str) -> str | None:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
        return "must be an http:// or https:// URL"
    return None


def _check_hostname(host: str) -> str | None:
    if host and not re.fullmatch(r"(?i)(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", host):
        return "must be a host name like nexus.example.com (no scheme, no path), or empty"
    return None


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("server.binary", "", "Path to the opencode binary; empty searches PATH and npm's usual folders."),
    SettingSpec("server.workspace", "", "Folder OpenCode works in; empty uses the data dir's workspace folder."),
    SettingSpec("server.url", "", "URL of an OpenCode server to attach to instead of starting one.", check=_check_url),
    SettingSpec("server.autostart", True, "Start OpenCode when Nexus starts."),
    SettingSpec("server.protect", True, "Protect the OpenCode server with a random password only Nexus knows."),
    SettingSpec("server.env", {}, "Extra environment variables for OpenCode (no secrets).", check=_check_env),
    SettingSpec("server.start_timeout", 30.0, "Seconds to wait for OpenCode to come up.", 2, 600),
    SettingSpec("server.stop_timeout", 5.0, "Seconds to wait after asking OpenCode to stop before killing it.", 0.5, 60),
    SettingSpec("server.health_interval", 5.0, "Seconds between health checks.", 0.2, 300),
    SettingSpec("server.health_timeout", 2.0, "Seconds a health check may take.", 0.1, 60),
    SettingSpec("server.health_failures", 3, "Failed health checks in a row before a restart.", 1, 100),
    SettingSpec("server.adopt_after_crash", True, "If Nexus itself crashes, leave OpenCode running so the next start "
                "adopts it and its reply goes on; off: OpenCode dies with Nexus (Linux)."),
    SettingSpec("server.slow_grace", 300.0, "Seconds a busy OpenCode (its CPU time advancing) may answer health "
                "checks late before it counts as hung.", 0, 86400),
    SettingSpec("restart.enabled", True, "Restart OpenCode when it crashes or stops answering."),
    SettingSpec("restart.initial_delay", 1.0, "Seconds before the first restart attempt.", 0, 3600),
    SettingSpec("restart.factor", 2.0, "Each further attempt waits this many times longer.", 1, 10),
    SettingSpec("restart.max_delay", 60.0, "Longest wait between attempts, in seconds.", 0, 86400),
    SettingSpec("restart.max_attempts", 5, "Attempts in a row before giving up.", 1, 1000),
    SettingSpec("restart.reset_after", 60.0, "Seconds of stable running that forget earlier crashes.", 1, 86400),
    SettingSpec("metrics.history_seconds", 900, "Seconds of per-second metrics kept in memory.", 60, 86400),
    SettingSpec("metrics.store_every", 60, "Seconds per downsampled metrics row in the store.", 5, 3600),
    SettingSpec("metrics.retention_days", 30, "Days of downsampled metrics kept in the store.", 1, 3650),
    SettingSpec("chat.purge_deleted_days", 30, "Days a deleted chat session can be restored before it is purged "
                "for good; 0 keeps deleted sessions forever.", 0, 3650),
    SettingSpec("logs.level", "INFO", "Lowest level written to the log.", choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    SettingSpec("logs.max_bytes", 10 * 1024 * 1024, "Size at which the log file rotates, in bytes.", 64 * 1024, 1024**3),
    SettingSpec("logs.backup_count", 5, "Rotated log files kept.", 1, 100),
    SettingSpec("logs.retention_days", 14, "Days rotated log files are kept; 0 keeps them whatever their age.", 0, 3650),
    # Security (nexus/auth). Requests through the tunnel always need sign-in, whatever these say.
    SettingSpec("security.require_login_locally", True,
                "Ask for the password on this computer too (the desktop window signs itself in)."),
    SettingSpec("security.session_idle_minutes", 1440, "Sign out a browser after this many minutes unused.", 5, 43200),
    SettingSpec("security.session_max_days", 30, "Sign out a browser this many days after sign-in, used or not.", 1, 365),
    SettingSpec("security.lockout_failures", 5, "Failed sign-ins within the window that lock sign-in.", 1, 100),
    SettingSpec("security.lockout_window_minutes", 15, "Window in which failed sign-ins are counted, in minutes.", 1, 1440),
    SettingSpec("security.lockout_minutes", 15, "How long sign-in stays locked after too many failures.", 1, 1440),
    SettingSpec("security.login_rate_per_minute", 10, "Sign-in attempts allowed per minute from one address.", 1, 1000),
    SettingSpec("security.write_rate_per_minute", 300, "Changes (POST, PATCH, DELETE) allowed per minute per client.",
                10, 100000),
    SettingSpec("security.argon2_time_cost", 3, "Argon2id passes (the password is rehashed when this changes).", 1, 20),
    SettingSpec("security.argon2_memory_kib", 65536, "Argon2id memory in KiB (rehashed when this changes).",
                1024, 4 * 1024 * 1024),
    SettingSpec("security.argon2_parallelism", 4, "Argon2id lanes (rehashed when this changes).", 1, 64),
    # Tunnel (nexus/tunnel). The named tunnel's token is a secret: it lives in the secret store.
    SettingSpec("tunnel.mode", "off", "Remote access: off, a quick tunnel (random trycloudflare.com address) or "
                "a named tunnel (your domain, with a token).", choices=("off", "quick", "named")),
    SettingSpec("tunnel.autostart", True, "Start the tunnel when Nexus starts (when a mode is chosen)."),
    SettingSpec("tunnel.binary", "", "Path to cloudflared; empty searches PATH, then Nexus's own copy."),
    SettingSpec("tunnel.hostname", "", "Public hostname of the named tunnel, e.g. nexus.example.com.",
                check=_check_hostname),
    SettingSpec("tunnel.protocol", "auto", "Tunnel protocol; http2 works on networks that block UDP.",
                choices=("auto", "quic", "http2")),
    SettingSpec("tunnel.start_timeout", 30.0, "Seconds to wait for the tunnel to connect.", 2, 600),
    SettingSpec("tunnel.restart_max_attempts", 5, "Restarts in a row after cloudflared dies before giving up.", 0, 1000),
    SettingSpec("notifications.server_crash", True, "Notify when OpenCode crashes or stops answering."),
    SettingSpec("notifications.server_restart", True, "Notify when OpenCode runs again after a crash."),
    SettingSpec("notifications.server_gave_up", True, "Notify when Nexus gives up restarting OpenCode."),
    SettingSpec("notifications.tunnel_up", True, "Notify when the tunnel connects."),
    SettingSpec("notifications.tunnel_down", True, "Notify when the tunnel disconnects or fails."),
    SettingSpec("notifications.permission", True, "Notify when a session waits for your permission."),
    SettingSpec("notifications.reply_finished", True,
                "Notify when a long reply finishes while its tab is in the background."),
    SettingSpec("notifications.long_reply_seconds", 20, "A reply counts as long after this many seconds.", 1, 3600),
    SettingSpec("notifications.desktop", True,
                "Also show notifications on the desktop (each browser asks once, on the dashboard)."),
    SettingSpec("notifications.keep", 200, "Notifications kept; older ones are deleted.", 10, 10000),
    # The desktop window (nexus/desktop)
    SettingSpec("desktop.close_action", "quit", "Closing the window quits Nexus (stops OpenCode and the tunnel), "
                "or keeps it running in the background so the phone keeps working.", choices=("quit", "background")),
    SettingSpec("desktop.notifications", True, "Notify when a session needs you while the window is hidden."),
    # General (nexus/ui): the name in the top bar and the theme, applied to every page.
    SettingSpec("general.instance_name", "Nexus", "Name shown in the top bar of every page.",
                check=lambda v: None if 1 <= len(v.strip()) <= 60 else "must be 1 to 60 characters"),
    SettingSpec("general.theme", "system", "Colours: light, dark, or follow the system.",
                choices=("system", "light", "dark")),
    SettingSpec("anthropic.base_url", "https://api.anthropic.com", "Address of the Anthropic API (the built-in engine).",
                check=_check_api_url),
    SettingSpec("anthropic.max_retries", 2, "Times the Anthropic engine retries a rate-limited or overloaded request.",
                0, 10),
    SettingSpec("anthropic.command_timeout", 120.0, "Longest run of a command the Anthropic engine's agent starts, "
                "in seconds.", 1, 3600),
    # Workspace pane (nexus/workspace). A terminal is a shell on this computer: through the
    # tunnel it is off unless the owner turns it on (and it always needs sign-in there).
    SettingSpec("terminal.remote_enabled", False,
                "Allow shell commands from remote devices (through the tunnel): terminals, manual commands, and "
                "approving the agent's commands and file edits."),
    # Hand-off (nexus/chat/engines/opencode.py): sessions other clients of an OpenCode server
    # start (its terminal UI, `opencode web`) are adopted into Nexus, or only Nexus's own show.
    SettingSpec("chat.adopt", "all", "Which OpenCode sessions Nexus shows: all (also those started in OpenCode's "
                "other clients) or nexus (only sessions started in Nexus).", choices=("all", "nexus")),
)


class Settings:
    def __init__(self, repo: SettingsRepository, bus: EventBus | None = None,
                 specs: tuple[SettingSpec, ...] = SPECS) -> None:
        self._repo = repo
        self._bus = bus
        self._specs = {s.key: s for s in specs}
        self._lock = threading.Lock()
        self._values = {key: spec.default for key, spec in self._specs.items()}
        self._load()

    def _load(self) -> None:
        for key, raw in self._repo.load_raw().items():
            spec = self._specs.get(key)
            if spec is None:
                continue  # a setting of a newer or older Nexus: kept in the store, unused here
            try:
                self._values[key] = spec.validate(json.loads(raw))
            except (ValueError, TypeError) as exc:
                # Keep the stored row as it is (nothing is lost) and run on the default.
                log.warning("setting %s in the store is invalid (%s); using the default", key, exc)

    def get(self, key: str) -> Any:
        with self._lock:
            return self._values[key]

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def all(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)

    def specs(self) -> list[SettingSpec]:
        return list(self._specs.values())

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            spec = self._specs.get(key)
            if spec is None:
                errors[key] = "no such setting"
                continue
            try:
                clean[key] = spec.validate(value)
            except ValueError as exc:
                errors[key] = str(exc)
        if errors:
            raise SettingsError(errors)
        with self._lock:
            changed = {k: v for k, v in clean.items() if self._values[k] != v}
            if changed:
                self._repo.save(changed)
                self._values.update(changed)
        if changed and self._bus is not None:
            self._bus.publish("settings.changed", keys=sorted(changed))
        return self.all()

    def reset(self, keys: list[str]) -> dict[str, Any]:
        unknown = [k for k in keys if k not in self._specs]
        if unknown:
            raise SettingsError({k: "no such setting" for k in unknown})
        with self._lock:
            self._repo.delete(keys)
            for key in keys:
                self._values[key] = self._specs[key].default
        if self._bus is not None:
            self._bus.publish("settings.changed", keys=sorted(keys))
        return self.all()
