"""REST for notifications: list (with the unread count and preferences), mark read, clear."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request

from nexus.ui.context import int_arg, json_body, runtime
from nexus.ui.errors import ApiError


def notifications_list() -> Any:
    limit = int_arg("limit", 50, 1, 500)
    before = int_arg("before", None, 1, 2**62)
    unread = request.args.get("unread", "")
    if unread not in ("", "0", "1", "true", "false"):
        raise ApiError(400, "The query parameter 'unread' must be 1 or 0.", "bad_parameter")
    return jsonify(runtime().notifications.list(limit or 50, before, unread_only=unread in ("1", "true")))


def notifications_mark_read() -> Any:
    body = json_body()
    ids = body.get("ids")
    if ids is not None and (not isinstance(ids, list) or len(ids) > 1000
                            or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**63 for i in ids)):
        raise ApiError(400, "ids must be a list of notification ids (whole numbers), or left out to mark all read.",
                       "bad_request", field="ids")
    return jsonify(runtime().notifications.mark_read(ids))


def notifications_clear() -> Any:
    return jsonify(runtime().notifications.clear())
