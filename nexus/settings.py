"""User settings: declared once with their type, default and limits (`nexus/settings_model.py`),
stored in the store, validated by pydantic (`nexus/settings_validation.py`).

Every change is validated as a whole before anything is saved, so a bad request changes
nothing; each error names the setting and what is allowed. Services read settings when
they need them, typed: `settings.current.server.start_timeout` (a float, mypy knows), so most
changes apply without a restart. `settings["server.start_timeout"]` still works, untyped.

Start-up never imports pydantic when it can help it: the store keeps, beside the values, a
digest of them and of the declaration they were validated against (row `_validated`). Values
whose digest matches were validated by this very declaration and are used as they are; any
other (a first start after an upgrade, a row edited by hand) are validated, and a bad one is
left in the store and replaced by its default.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import Any

from nexus import __version__
from nexus.bus import EventBus
from nexus.errors import ServiceError
from nexus.settings_model import SPECS, NexusSettings, SettingSpec, build, is_injection_name
from nexus.settings_repository import SettingsRepository

__all__ = ["SPECS", "NexusSettings", "SettingSpec", "Settings", "SettingsError", "is_injection_name"]

log = logging.getLogger(__name__)


class SettingsError(ServiceError, ValueError):
    """Values that were refused; `errors` (also `details["fields"]`) says why, per key."""

    status, code = 422, "invalid_settings"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()), fields=errors)
        self.errors = errors


# The store row holding the digest of the stored values and of the declaration that passed them.
VALIDATED_ROW = "_validated"


def _declaration() -> str:
    """What the digest of validated values depends on besides them: this Nexus and every setting's
    type, default, limits and check (a check's code changes with the Nexus version)."""
    return repr([__version__, *((s.key, repr(s.annotation), s.default, s.minimum, s.maximum,
                                 getattr(s.check, "__qualname__", None)) for s in SPECS)])


def _digest(stored: dict[str, Any]) -> str:
    text = _declaration() + json.dumps(stored, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def _validate(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    from nexus.settings_validation import validate  # pydantic: imported on first use

    return validate(values)


class Settings:
    def __init__(self, repo: SettingsRepository, bus: EventBus | None = None) -> None:
        self._repo = repo
        self._bus = bus
        self._specs = {s.key: s for s in SPECS}
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {key: _copy(spec.default) for key, spec in self._specs.items()}
        self._stored: dict[str, Any] = {}  # the valid rows of the store, as they read back
        self._load()
        self._current = build(self._values)

    def _load(self) -> None:
        raw = self._repo.load_raw()
        stored: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for key, text in raw.items():
            if key not in self._specs:
                continue  # a setting of a newer or older Nexus (or the digest): kept in the store, unused here
            try:
                stored[key] = json.loads(text)
            except ValueError as exc:
                problems[key] = str(exc)
        if not problems and raw.get(VALIDATED_ROW) == json.dumps(_digest(stored)):  # rows are JSON text
            self._values.update(stored)
            self._stored = stored
            return
        if stored:
            clean, errors = _validate({**self._values, **stored})
            if errors:  # validate again without them: what remains is valid
                problems.update(errors)
                clean, _errors = _validate({**self._values, **{k: v for k, v in stored.items() if k not in errors}})
            # The digest is of the rows as they read back (a whole number an older Nexus stored for
            # a float stays one there), the values in force are the validated ones.
            self._stored = {k: v for k, v in stored.items() if k not in problems}
            self._values.update({k: clean[k] for k in self._stored})
        for key, problem in problems.items():
            # Keep the stored row as it is (nothing is lost) and run on the default.
            log.warning("setting %s in the store is invalid (%s); using the default", key, problem)
        if not problems:
            try:
                self._repo.save({VALIDATED_ROW: _digest(self._stored)})
            except Exception:  # a read-only store: the next start validates again
                log.debug("could not save the settings digest", exc_info=True)

    @property
    def current(self) -> NexusSettings:
        """The settings in force, typed: `settings.current.tunnel.mode`. Read it where it is used
        (a change makes a new object; this one stays as it was)."""
        return self._current

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

    def validate(self, changes: dict[str, Any]) -> dict[str, Any]:
        """The changes as they would be saved; raises SettingsError naming each bad key."""
        with self._lock:
            values = dict(self._values)
        clean, errors = _validate({**values, **changes})
        if errors:
            raise SettingsError(errors)
        return {key: clean[key] for key in changes}

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        clean = self.validate(changes)
        with self._lock:
            changed = {k: v for k, v in clean.items() if self._values[k] != v}
            if changed:
                stored = {**self._stored, **changed}
                self._repo.save({**changed, VALIDATED_ROW: _digest(stored)})
                self._stored = stored
                self._values.update(changed)
                self._current = build(self._values)
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
                self._values[key] = _copy(self._specs[key].default)
                self._stored.pop(key, None)
            self._repo.save({VALIDATED_ROW: _digest(self._stored)})
            self._current = build(self._values)
        if self._bus is not None:
            self._bus.publish("settings.changed", keys=sorted(keys))
        return self.all()


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value
