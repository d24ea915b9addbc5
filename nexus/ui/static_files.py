"""Serving static/ through the AssetStore (nexus/ui/assets.py): Flask's own `static`
endpoint keeps its name (so it stays open without sign-in, like before), but answers from
memory with hashed addresses, a year's cache and bodies compressed once."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from markupsafe import Markup, escape

from nexus.ui.assets import LONG_CACHE, SHORT_CACHE, Asset, AssetStore
from nexus.ui.errors import error_response

_STORE: AssetStore | None = None


def asset_store() -> AssetStore:
    """One store per process: the static tree is part of the program."""
    global _STORE
    if _STORE is None:
        _STORE = AssetStore()
    return _STORE


def _answer(asset: Asset, cache: str) -> Response:
    etag = f'"{asset.etag}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = Response(status=304)
    else:
        body, coding = asset_store().encoded(asset, request.headers.get("Accept-Encoding", ""))
        response = Response(body, mimetype=asset.mimetype)
        if coding:
            response.headers["Content-Encoding"] = coding
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = cache
    response.headers["Vary"] = "Accept-Encoding"
    return response


def serve_static(filename: str) -> Any:
    store = asset_store()
    head, _, rest = filename.partition("/")
    if head in ("v", "b"):
        digest, _, inner = rest.partition("/")
        asset = store.file(inner) if head == "v" else store.bundle(digest, inner)
        current = digest == store.version if head == "v" else bool(asset and digest == asset.etag)
        if asset is not None:
            return _answer(asset, LONG_CACHE if current else SHORT_CACHE)
    else:
        asset = store.file(filename)
        if asset is not None:
            return _answer(asset, SHORT_CACHE)
    return error_response(404, "No such file.", "not_found")


def install_static_files(app: Flask) -> None:
    store = asset_store()
    app.view_functions["static"] = serve_static

    @app.url_defaults
    def versioned_static(endpoint: str, values: dict[str, Any]) -> None:
        filename = values.get("filename", "")
        if endpoint == "static" and filename and not filename.startswith(("v/", "b/")):
            values["filename"] = f"v/{store.version}/{filename}"

    def stylesheet(*parts: str) -> Markup:
        """The page's one stylesheet: the base sheets plus `parts` (css/<part>.css)."""
        return Markup('<link rel="stylesheet" href="{}">').format(escape(store.bundle_url(*parts)))

    def critical_style() -> Markup:
        return Markup("<style>{}</style>").format(Markup(store.critical_css))

    app.jinja_env.globals.update(stylesheet=stylesheet, critical_style=critical_style)
