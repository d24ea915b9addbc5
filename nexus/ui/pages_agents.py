"""The Agents page (nexus/ui/static/js/agents.js does the work over /api/agent-configs)."""

from __future__ import annotations

from typing import Any

from flask import render_template


def agents_page() -> Any:
    return render_template("agents.html")
