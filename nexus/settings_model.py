"""Every setting, declared once: a class per group whose annotated attributes carry the type,
default, limits, choices, help text and any extra check of one setting.

Why plain classes and not pydantic models: this module is read on every start, and importing
pydantic with its model machinery costs ~60 ms there (three times the start-up budget), while
these classes cost well under a millisecond (dataclasses would cost ~10 ms: each generates code). Pydantic still does all the validating: `nexus/settings_validation.py`
builds its models from these declarations (strict types, `ge`/`le` limits, `Literal` choices,
the checks) the first time a value has to be validated. The groups are nested, not one flat
model, because the keys already are `group.name`: `settings.current.server.start_timeout` is the
typed read of the key "server.start_timeout", and mypy checks it.

A new setting: one field in its group (a new group: a `Group` class here and a field in
`NexusSettings`). Its key, its JSON spec for the settings page and its validation follow.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args, get_origin

# A check returns what is wrong with a value (the message shown beside the field), or None.
Check = Callable[[Any], str | None]


class Setting:
    """One setting's declaration, besides its type: default, help text, limits, extra check."""

    __slots__ = ("check", "default", "description", "maximum", "minimum")

    def __init__(self, default: Any, description: str, minimum: float | None, maximum: float | None,
                 check: Check | None) -> None:
        self.default, self.description, self.check = default, description, check
        self.minimum, self.maximum = minimum, maximum


def setting(default: Any, description: str, ge: float | None = None, le: float | None = None,
            check: Check | None = None) -> Any:
    """Declares the setting of the attribute it is assigned to (typed Any, so that its annotation,
    not a Setting, is what mypy sees there)."""
    return Setting(default, description, ge, le, check)


class Group:
    """A group of settings: its annotated attributes assigned `setting(...)` are the settings.
    An instance holds the values in force, read-only (they change through `Settings.update`)."""

    declared: ClassVar[dict[str, tuple[Any, Setting]]]  # name -> (type, declaration), in order

    def __init_subclass__(cls) -> None:
        cls.declared = {name: (kind, vars(cls)[name]) for name, kind in cls.__annotations__.items()
                        if isinstance(vars(cls).get(name), Setting)}

    def __init__(self, **values: Any) -> None:
        for name, (_kind, declared) in self.declared.items():
            value = values.get(name, declared.default)
            object.__setattr__(self, name, dict(value) if isinstance(value, dict) else value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("settings are read-only here; change them with Settings.update")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.declared)})"


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
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
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


def _check_instance_name(name: str) -> str | None:
    return None if 1 <= len(name.strip()) <= 60 else "must be 1 to 60 characters"


class ServerSettings(Group):
    binary: str = setting("", "Path to the opencode binary; empty searches PATH and npm's usual folders.")
    workspace: str = setting("", "Folder OpenCode works in; empty uses the data dir's workspace folder.")
    url: str = setting("", "URL of an OpenCode server to attach to instead of starting one.", check=_check_url)
    autostart: bool = setting(True, "Start OpenCode when Nexus starts.")
    protect: bool = setting(True, "Protect the OpenCode server with a random password only Nexus knows.")
    env: dict[str, str] = setting({}, "Extra environment variables for OpenCode (no secrets).", check=_check_env)
    start_timeout: float = setting(30.0, "Seconds to wait for OpenCode to come up.", 2, 600)
    stop_timeout: float = setting(5.0, "Seconds to wait after asking OpenCode to stop before killing it.", 0.5, 60)
    health_interval: float = setting(5.0, "Seconds between health checks.", 0.2, 300)
    health_timeout: float = setting(2.0, "Seconds a health check may take.", 0.1, 60)
    health_failures: int = setting(3, "Failed health checks in a row before a restart.", 1, 100)
    adopt_after_crash: bool = setting(True, "If Nexus itself crashes, leave OpenCode running so the next start "
                                      "adopts it and its reply goes on; off: OpenCode dies with Nexus (Linux).")
    slow_grace: float = setting(300.0, "Seconds a busy OpenCode (its CPU time advancing) may answer health "
                                "checks late before it counts as hung.", 0, 86400)


class RestartSettings(Group):
    enabled: bool = setting(True, "Restart OpenCode when it crashes or stops answering.")
    initial_delay: float = setting(1.0, "Seconds before the first restart attempt.", 0, 3600)
    factor: float = setting(2.0, "Each further attempt waits this many times longer.", 1, 10)
    max_delay: float = setting(60.0, "Longest wait between attempts, in seconds.", 0, 86400)
    max_attempts: int = setting(5, "Attempts in a row before giving up.", 1, 1000)
    reset_after: float = setting(60.0, "Seconds of stable running that forget earlier crashes.", 1, 86400)


class MetricsSettings(Group):
    history_seconds: int = setting(900, "Seconds of per-second metrics kept in memory.", 60, 86400)
    store_every: int = setting(60, "Seconds per downsampled metrics row in the store.", 5, 3600)
    retention_days: int = setting(30, "Days of downsampled metrics kept in the store.", 1, 3650)


class ChatSettings(Group):
    purge_deleted_days: int = setting(30, "Days a deleted chat session can be restored before it is purged "
                                      "for good; 0 keeps deleted sessions forever.", 0, 3650)
    # Hand-off (nexus/chat/engines/opencode.py): sessions other clients of an OpenCode server
    # start (its terminal UI, `opencode web`) are adopted into Nexus, or only Nexus's own show.
    adopt: Literal["all", "nexus"] = setting(
        "all", "Which OpenCode sessions Nexus shows: all (also those started in OpenCode's "
        "other clients) or nexus (only sessions started in Nexus).")


class LogsSettings(Group):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = setting("INFO", "Lowest level written to the log.")
    max_bytes: int = setting(10 * 1024 * 1024, "Size at which the log file rotates, in bytes.", 64 * 1024, 1024**3)
    backup_count: int = setting(5, "Rotated log files kept.", 1, 100)
    retention_days: int = setting(14, "Days rotated log files are kept; 0 keeps them whatever their age.", 0, 3650)


class SecuritySettings(Group):
    """nexus/auth. Requests through the tunnel always need sign-in, whatever these say."""

    require_login_locally: bool = setting(
        True, "Ask for the password on this computer too (the desktop window signs itself in).")
    session_idle_minutes: int = setting(1440, "Sign out a browser after this many minutes unused.", 5, 43200)
    session_max_days: int = setting(30, "Sign out a browser this many days after sign-in, used or not.", 1, 365)
    lockout_failures: int = setting(5, "Failed sign-ins within the window that lock sign-in.", 1, 100)
    lockout_window_minutes: int = setting(15, "Window in which failed sign-ins are counted, in minutes.", 1, 1440)
    lockout_minutes: int = setting(15, "How long sign-in stays locked after too many failures.", 1, 1440)
    login_rate_per_minute: int = setting(10, "Sign-in attempts allowed per minute from one address.", 1, 1000)
    write_rate_per_minute: int = setting(300, "Changes (POST, PATCH, DELETE) allowed per minute per client.",
                                         10, 100000)
    argon2_time_cost: int = setting(3, "Argon2id passes (the password is rehashed when this changes).", 1, 20)
    argon2_memory_kib: int = setting(65536, "Argon2id memory in KiB (rehashed when this changes).",
                                     1024, 4 * 1024 * 1024)
    argon2_parallelism: int = setting(4, "Argon2id lanes (rehashed when this changes).", 1, 64)


class TunnelSettings(Group):
    """nexus/tunnel. The named tunnel's token is a secret: it lives in the secret store."""

    mode: Literal["off", "quick", "named"] = setting(
        "off", "Remote access: off, a quick tunnel (random trycloudflare.com address) or "
        "a named tunnel (your domain, with a token).")
    autostart: bool = setting(True, "Start the tunnel when Nexus starts (when a mode is chosen).")
    binary: str = setting("", "Path to cloudflared; empty searches PATH, then Nexus's own copy.")
    hostname: str = setting("", "Public hostname of the named tunnel, e.g. nexus.example.com.", check=_check_hostname)
    protocol: Literal["auto", "quic", "http2"] = setting("auto", "Tunnel protocol; http2 works on networks that "
                                                         "block UDP.")
    start_timeout: float = setting(30.0, "Seconds to wait for the tunnel to connect.", 2, 600)
    restart_max_attempts: int = setting(5, "Restarts in a row after cloudflared dies before giving up.", 0, 1000)


class NotificationsSettings(Group):
    server_crash: bool = setting(True, "Notify when OpenCode crashes or stops answering.")
    server_restart: bool = setting(True, "Notify when OpenCode runs again after a crash.")
    server_gave_up: bool = setting(True, "Notify when Nexus gives up restarting OpenCode.")
    tunnel_up: bool = setting(True, "Notify when the tunnel connects.")
    tunnel_down: bool = setting(True, "Notify when the tunnel disconnects or fails.")
    permission: bool = setting(True, "Notify when a session waits for your permission.")
    reply_finished: bool = setting(True, "Notify when a long reply finishes while its tab is in the background.")
    long_reply_seconds: int = setting(20, "A reply counts as long after this many seconds.", 1, 3600)
    desktop: bool = setting(True, "Also show notifications on the desktop (each browser asks once, on the dashboard).")
    keep: int = setting(200, "Notifications kept; older ones are deleted.", 10, 10000)


class DesktopSettings(Group):
    """The desktop window (nexus/desktop)."""

    close_action: Literal["quit", "background"] = setting(
        "quit", "Closing the window quits Nexus (stops OpenCode and the tunnel), "
        "or keeps it running in the background so the phone keeps working.")
    notifications: bool = setting(True, "Notify when a session needs you while the window is hidden.")


class GeneralSettings(Group):
    """nexus/ui: the name in the top bar and the theme, applied to every page."""

    instance_name: str = setting("Nexus", "Name shown in the top bar of every page.", check=_check_instance_name)
    theme: Literal["system", "light", "dark"] = setting("system", "Colours: light, dark, or follow the system.")


class AnthropicSettings(Group):
    base_url: str = setting("https://api.anthropic.com", "Address of the Anthropic API (the built-in engine).",
                            check=_check_api_url)
    max_retries: int = setting(2, "Times the Anthropic engine retries a rate-limited or overloaded request.", 0, 10)
    command_timeout: float = setting(120.0, "Longest run of a command the Anthropic engine's agent starts, "
                                     "in seconds.", 1, 3600)


class TerminalSettings(Group):
    """Workspace pane (nexus/workspace). A terminal is a shell on this computer: through the
    tunnel it is off unless the owner turns it on (and it always needs sign-in there)."""

    remote_enabled: bool = setting(
        False, "Allow shell commands from remote devices (through the tunnel): terminals, manual commands, and "
        "approving the agent's commands and file edits.")


class NexusSettings:
    """All settings, one group per attribute; `Settings.current` is the instance in force."""

    server: ServerSettings
    restart: RestartSettings
    metrics: MetricsSettings
    chat: ChatSettings
    logs: LogsSettings
    security: SecuritySettings
    tunnel: TunnelSettings
    notifications: NotificationsSettings
    desktop: DesktopSettings
    general: GeneralSettings
    anthropic: AnthropicSettings
    terminal: TerminalSettings

    def __init__(self, groups: dict[str, Group]) -> None:
        self.__dict__.update(groups)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("settings are read-only here; change them with Settings.update")


GROUPS: dict[str, type[Group]] = dict(NexusSettings.__annotations__)


# ----- what the declaration gives the rest of Nexus ----------------------------------------------

KIND_NAMES: dict[type, str] = {bool: "true or false", int: "a whole number", float: "a number", str: "text",
                               dict: "an object"}


@dataclass(frozen=True)
class SettingSpec:
    """One setting as the settings pages, the CLI and the validator see it (read off its field)."""

    key: str
    annotation: Any  # the field's type: bool, int, float, str, dict[str, str] or a Literal of texts
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    check: Check | None = None

    @property
    def kind(self) -> type:
        return type(self.default)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "type": KIND_NAMES[self.kind], "default": self.default,
                               "description": self.description}
        for name in ("minimum", "maximum", "choices"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


def _specs() -> tuple[SettingSpec, ...]:
    # The annotations are types, not strings: this module has no `from __future__ import annotations`.
    return tuple(SettingSpec(f"{group}.{name}", kind, d.default, d.description, d.minimum, d.maximum,
                             get_args(kind) if get_origin(kind) is Literal else None, d.check)
                 for group, cls in GROUPS.items() for name, (kind, d) in cls.declared.items())


SPECS: tuple[SettingSpec, ...] = _specs()


def build(values: dict[str, Any]) -> NexusSettings:
    """The typed settings from validated values by key ("group.name" -> value)."""
    groups: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
    for key, value in values.items():
        group, name = key.split(".", 1)
        groups[group][name] = value
    return NexusSettings({group: cls(**groups[group]) for group, cls in GROUPS.items()})
