"""The one navigation of every page: adding a page to it is adding one line to NAV.

base.html renders it (a bar on wide screens, a menu button with a drawer on phones) and
marks the current entry with aria-current. Each page also gets the stored theme, so
base.html can apply it before anything is painted (no flash of the wrong colours).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Flask, request

from nexus.ui.context import runtime


@dataclass(frozen=True)
class NavEntry:
    label: str
    path: str
    also: str | None = None  # a regular expression for further paths where this entry is current

    def is_current(self, path: str) -> bool:
        return path == self.path or bool(self.also and re.fullmatch(self.also, path))


NAV: tuple[NavEntry, ...] = (
    NavEntry("Chat", "/", also=r"/s/.+"),
    NavEntry("Sessions", "/sessions"),
    NavEntry("Agents", "/agents"),
    NavEntry("Dashboard", "/dashboard"),
    NavEntry("Logs", "/logs"),
    NavEntry("Analytics", "/analytics"),
    NavEntry("Settings", "/settings"),
)

# The media of the dark stylesheet (css/theme-dark.css) for each theme setting.
DARK_MEDIA = {"light": "not all", "dark": "all", "system": "(prefers-color-scheme: dark)"}
COLOR_SCHEME = {"light": "light", "dark": "dark", "system": "light dark"}


def install_navigation(app: Flask) -> None:
    @app.context_processor
    def navigation_context() -> dict[str, Any]:
        path = request.path
        theme = runtime().settings["general.theme"]
        # Until setup is done every page but the wizard redirects to it: no navigation to offer.
        setup_done = runtime().setup.completed
        return {"nav": [(e.label, e.path, e.is_current(path)) for e in NAV] if setup_done else [],
                "setup_done": setup_done,
                "theme": theme, "dark_media": DARK_MEDIA[theme], "color_scheme": COLOR_SCHEME[theme],
                "instance_name": runtime().settings["general.instance_name"]}
