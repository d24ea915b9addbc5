"""How views reach the services: the Runtime is stored on the app, never imported globally."""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from nexus.runtime import Runtime
from nexus.ui.errors import ApiError
from nexus.ui.live import Closing


def runtime() -> Runtime:
    return current_app.extensions["nexus.runtime"]


def closing() -> Closing:
    """Set when the web server is shutting down, so long-lived streams end."""
    return current_app.extensions["nexus.closing"]


def json_body() -> dict[str, Any]:
    if not request.content_length and not request.data:
        return {}
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON (Content-Type: application/json).", "unsupported_media_type")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "The body must be a JSON object.", "bad_json")
    return body


def float_arg(name: str, default: float | None = None) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ApiError(400, f"The query parameter {name!r} must be a number.", "bad_parameter") from None


def int_arg(name: str, default: int | None = None, minimum: int = 0, maximum: int = 10_000) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"The query parameter {name!r} must be a whole number.", "bad_parameter") from None
    if not minimum <= value <= maximum:
        raise ApiError(400, f"The query parameter {name!r} must be between {minimum} and {maximum}.", "bad_parameter")
    return value
