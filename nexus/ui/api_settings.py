"""REST for settings: read all with their descriptions, change several at once."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from nexus.auth.scopes import protected_settings
from nexus.settings import SettingsError
from nexus.ui.context import json_body, runtime
from nexus.ui.errors import ApiError
from nexus.ui.security import caller, require_owner_present


def settings_get() -> Any:
    settings = runtime().settings
    return jsonify({"values": settings.all(), "specs": [s.to_json() for s in settings.specs()]})


def settings_update() -> Any:
    body = json_body()
    values = body.get("values", body)
    if not isinstance(values, dict) or not values:
        raise ApiError(400, "Send the settings to change as a JSON object, e.g. {\"server.autostart\": false}.",
                       "bad_request")
    protected = protected_settings(values)
    if protected:
        require_owner_present(", ".join(protected))
    if values.get("terminal.remote_enabled") is True and caller().via != "local":
        # A stolen sign-in must not be enough to open a shell from afar.
        raise ApiError(403, "Terminals for remote devices can only be turned on from the computer Nexus runs on.",
                       "local_only")
    try:
        updated = runtime().settings.update(values)
    except SettingsError as exc:
        raise ApiError(422, "Some settings were not valid; nothing was changed.", "invalid_settings",
                       fields=exc.errors) from exc
    return jsonify({"values": updated})


def settings_reset() -> Any:
    keys = json_body().get("keys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise ApiError(400, "Send the settings to reset as a list of keys, e.g. {\"keys\": [\"general.theme\"]}.",
                       "bad_request")
    protected = protected_settings(keys)
    if protected:
        require_owner_present(", ".join(protected))
    try:
        values = runtime().settings.reset(keys)
    except SettingsError as exc:
        raise ApiError(422, "Unknown settings; nothing was reset.", "invalid_settings", fields=exc.errors) from exc
    return jsonify({"values": values})
