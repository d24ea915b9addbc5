"""The logs page (nexus/ui/static/js/logs-page.js does the live work)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from nexus.logs.reader import LEVELS, SOURCES


def logs_page() -> Any:
    return render_template("logs.html", levels=LEVELS, sources=SOURCES)
