"""The installable web app: its manifest, its service worker and the page it shows offline.

All three are open without sign-in: browsers fetch the manifest and its icons without
cookies, and the offline page must show when nothing else can (it holds no data).
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template

from nexus.ui.context import runtime
from nexus.ui.static_files import asset_store

LIGHT_THEME = "#f7f7f8"  # --bg of app.css and theme-dark.css: the installed window's title bar
DARK_THEME = "#0f1115"


def manifest() -> Any:
    name = runtime().settings["general.instance_name"]
    icon = "/static/img/"
    response = jsonify({
        "id": "/", "name": name, "short_name": name[:12],
        "description": "Your coding agents, from any screen.",
        "start_url": "/", "scope": "/", "display": "standalone",
        "background_color": LIGHT_THEME, "theme_color": LIGHT_THEME,
        "icons": [
            {"src": f"{icon}icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": f"{icon}icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": f"{icon}icon-maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
            {"src": f"{icon}icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
        ],
    })
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


def app_shell() -> list[str]:
    """What the service worker keeps for offline use: the offline page and what it needs."""
    store = asset_store()
    return ["/offline", store.bundle_url(), store.url("js/offline.js"), "/static/img/icon.svg"]


def service_worker() -> Any:
    """static/js/sw.js with this build's shell list in front: a new build is a new worker
    (browsers compare the script byte for byte), which replaces the old cache."""
    store = asset_store()
    script = (store.root / "js" / "sw.js").read_text(encoding="utf-8")
    head = f"const VERSION = {store.version!r};\nconst SHELL = {app_shell()!r};\n"
    response = Response(head + script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


def offline_page() -> Any:
    """The page the service worker shows when Nexus cannot be reached."""
    return render_template("offline.html")
