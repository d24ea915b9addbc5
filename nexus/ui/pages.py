"""HTML pages (thin: the page's module script does the live work)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, render_template

from nexus.ui.context import runtime


def index() -> Any:
    """The session cards (nexus/ui/static/js/chat/home.js draws them)."""
    return render_template("chat.html")


def session_page(session_id: str) -> Any:
    """One session in full view (the phone's normal view). The page carries the transcript's
    snapshot, so the newest messages show without waiting for the live stream; the stream
    then picks up after the snapshot's sequence number."""
    chat = runtime().chat
    missing = chat.repo.get_session(session_id) is None
    initial = None if missing else chat.initial_snapshot(session_id)
    return (render_template("session.html", session_id=session_id, missing=missing, initial=initial),
            404 if missing else 200)


def dashboard() -> Any:
    rt = runtime()
    return render_template("dashboard.html", status=rt.supervisor.status())


def openapi_document() -> Any:
    return jsonify(current_app.extensions["nexus.openapi"])
