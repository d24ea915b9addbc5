"""REST for usage analytics: one report for a range of local days."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from nexus.analytics import AnalyticsRangeError, LocalDays
from nexus.ui.context import runtime
from nexus.ui.errors import ApiError


def analytics_report() -> Any:
    try:
        days = LocalDays.parse(request.args.get("start"), request.args.get("end"), request.args.get("tz"))
    except AnalyticsRangeError as exc:
        raise ApiError(400, str(exc), "bad_parameter") from None
    return jsonify(runtime().analytics.report(days))
