"""HTML pages (thin: the page's module script does the live work)."""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, jsonify, make_response, render_template

from nexus.ui.context import runtime
from nexus.ui.security import CSP
from nexus.ui.transcript_preview import transcript_preview


def index() -> Any:
    """The session cards (nexus/ui/static/js/chat/home.js draws them). The page carries the
    open sessions' list and their snapshots, so the cards are drawn without another round trip, and
    each card's newest messages drawn by the server in the card's place and size: the page shows
    them at once and does not move as the cards take their places."""
    chat = runtime().chat
    sessions, total = chat.list("active", 50)
    # Each card's transcript snapshot too (as the session page carries its own): the cards
    # show their messages at once, and the live stream continues from those sequence numbers.
    snapshots = [chat.initial_snapshot(s["id"]) for s in sessions]
    # ...and drawn as HTML in their places, painted before the page's script has loaded.
    previews = [transcript_preview(snap["event"]["data"], "card") for snap in snapshots]
    return render_template("chat.html", initial_sessions={"sessions": sessions, "total": total,
                                                          "snapshots": snapshots}, previews=previews)


def session_page(session_id: str) -> Any:
    """One session in full view (the phone's normal view). The page carries the transcript's
    snapshot, so the newest messages show without waiting for the live stream; the stream
    then picks up after the snapshot's sequence number."""
    chat = runtime().chat
    missing = not chat.exists(session_id)
    initial = None if missing else chat.initial_snapshot(session_id)
    # The newest messages as HTML too, painted before the page's script has loaded.
    preview = None if initial is None else transcript_preview(initial["event"]["data"])
    # The terminal (xterm.js) sizes and colours its cells with <style> elements it creates;
    # a per-page nonce lets exactly those in, while inline styles stay refused.
    nonce = secrets.token_urlsafe(18)
    response = make_response(render_template("session.html", session_id=session_id, missing=missing,
                                             initial=initial, preview=preview, style_nonce=nonce), 404 if missing else 200)
    response.headers["Content-Security-Policy"] = CSP.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")
    return response


def dashboard() -> Any:
    rt = runtime()
    return render_template("dashboard.html", status=rt.supervisor.status())


def openapi_document() -> Any:
    return jsonify(current_app.extensions["nexus.openapi"])
