"""Nexus about itself: liveness and the system check (`nexus doctor`'s findings)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from nexus import __version__
from nexus.doctor import run_checks
from nexus.ui.context import runtime


def healthz() -> Any:
    return jsonify({"ok": True, "version": __version__})


def system_check() -> Any:
    rt = runtime()
    return jsonify({"checks": [c.to_json() for c in run_checks(rt.settings, rt.paths)]})
