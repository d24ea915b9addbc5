"""REST for usage analytics: one report for a range of local days."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from nexus.analytics import LocalDays
from nexus.ui.context import runtime


def analytics_report() -> Any:
    days = LocalDays.parse(request.args.get("start"), request.args.get("end"), request.args.get("tz"))
    return jsonify(runtime().analytics.report(days))
