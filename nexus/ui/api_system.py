"""Nexus about itself: liveness and the system check (`nexus doctor`'s findings)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from nexus.doctor import run_checks
from nexus.ui.context import runtime


def healthz() -> Any:
    """Open to everyone (monitors, the tunnel's checks), so it says nothing but that Nexus is up."""
    return jsonify({"ok": True})


def system_check() -> Any:
    rt = runtime()
    return jsonify({"checks": [c.to_json() for c in run_checks(rt.settings, rt.paths)]})
