"""HTML pages (thin: the page's module script does the live work)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, render_template

from nexus.ui.context import runtime


def index() -> Any:
    # The session cards replace this once the chat page lands; until then, the server page.
    return dashboard()


def dashboard() -> Any:
    rt = runtime()
    return render_template("dashboard.html", status=rt.supervisor.status())


def openapi_document() -> Any:
    return jsonify(current_app.extensions["nexus.openapi"])
