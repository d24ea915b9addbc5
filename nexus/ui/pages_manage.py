"""The pages that look after Nexus: all sessions, usage analytics and settings.

Thin like every page: the page's module script fetches and draws everything from the REST API.
"""

from __future__ import annotations

from typing import Any

from flask import render_template


def sessions_overview() -> Any:
    return render_template("manage/sessions.html")


def analytics_page() -> Any:
    return render_template("manage/analytics.html")


def settings_page() -> Any:
    return render_template("manage/settings.html")
