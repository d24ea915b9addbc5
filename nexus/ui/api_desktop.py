"""The single-instance hand-over: a second launch asks the running Nexus to show itself.

Only the local instance's own launcher can call it: the caller must be on this computer and
present the random token from the instance lock file, which only the owner can read (0600).
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import quote

from flask import current_app, jsonify, request

from nexus.host.instance_lock import TOKEN_HEADER
from nexus.ui.context import runtime
from nexus.ui.errors import error_response
from nexus.ui.security import is_local_request


def desktop_focus() -> Any:
    refused = error_response(403, "Only a Nexus launched on this computer with this data dir may ask this.",
                             "bad_instance_token")
    if not is_local_request():
        return refused
    control = current_app.extensions.get("nexus.instance")
    if control is None:
        return error_response(404, "This Nexus was not started as the data dir's single instance.", "no_instance")
    presented = request.headers.get(TOKEN_HEADER, "")
    if not presented or not hmac.compare_digest(presented, control.token):
        return refused
    if control.show_window():
        return jsonify({"window": True})
    # No window to show (headless, or closed to the background): the launcher opens a browser,
    # signed in once by the same one-time token the window uses.
    token = runtime().auth.issue_desktop_token()
    return jsonify({"window": False,
                    "signin_url": f"{request.host_url.rstrip('/')}/auth/desktop?token={quote(token)}&next=/"})
