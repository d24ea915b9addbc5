"""Pages that paint at once: one stylesheet per page, in <head>, critical colours inline (and
allowed by the CSP's hash), every static file under a content-hashed address with a year's
cache, compressed once."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import brotli
import pytest

from nexus.ui.assets import AssetStore
from nexus.ui.static_files import asset_store

PAGES = ["/", "/sessions", "/analytics", "/settings", "/dashboard", "/logs", "/agents", "/security", "/s/nope", "/offline"]
HOST = {"Host": "127.0.0.1"}


class _Links(HTMLParser):
    """Where each stylesheet link and style element sits: in <head> or in <body>."""

    def __init__(self) -> None:
        super().__init__()
        self.where = "head"
        self.stylesheets: list[tuple[str, str]] = []
        self.styles: list[str] = []
        self._in_style = False
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body":
            self.where = "body"
        if tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append((self.where, a.get("href") or ""))
        if tag == "style":
            self._in_style = True
            self.styles.append(self.where + ":")
        for key in ("href", "src"):
            if (a.get(key) or "").startswith("/static/"):
                self.urls.append(a[key] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles[-1] += data


@pytest.mark.parametrize("path", PAGES)
def test_every_page_links_one_stylesheet_in_head_and_inlines_allowed_critical_css(client, path: str) -> None:
    response = client.get(path, headers=HOST)
    assert response.status_code in (200, 404), response.status_code
    page = _Links()
    page.feed(response.get_data(as_text=True))
    assert len(page.stylesheets) == 1, page.stylesheets
    assert page.stylesheets[0][0] == "head"
    assert re.fullmatch(r"/static/b/[0-9a-f]{16}/app\+dark\+notifications(\+[a-z-]+)*\+touch\.css", page.stylesheets[0][1])
    assert len(page.styles) == 1 and page.styles[0].startswith("head:")
    critical = page.styles[0][len("head:"):]
    digest = base64.b64encode(hashlib.sha256(critical.encode()).digest()).decode()
    csp = response.headers["Content-Security-Policy"]
    assert f"'sha256-{digest}'" in csp.split("style-src", 1)[1].split(";", 1)[0]


def test_static_files_have_hashed_names_long_cache_and_are_compressed_once(client) -> None:
    html = client.get("/", headers=HOST).get_data(as_text=True)
    page = _Links()
    page.feed(html)
    version = asset_store().version
    scripts = [u for u in page.urls if u.endswith(".js")]
    assert scripts and all(u.startswith(f"/static/v/{version}/") for u in scripts), page.urls
    for url in [*scripts, page.stylesheets[0][1]]:
        first = client.get(url, headers={**HOST, "Accept-Encoding": "br, gzip"})
        assert first.status_code == 200, url
        assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert first.headers["ETag"]
        if len(brotli.decompress(first.data) if first.headers.get("Content-Encoding") == "br" else first.data) > 600:
            assert first.headers["Content-Encoding"] == "br", url
        again = client.get(url, headers={**HOST, "If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
    # The module imported relatively from the entry resolves in the same versioned tree.
    store_js = client.get(f"/static/v/{version}/js/chat/store.js", headers={**HOST, "Accept-Encoding": "gzip"})
    assert store_js.status_code == 200 and store_js.headers["Content-Encoding"] == "gzip"
    assert store_js.mimetype == "text/javascript"
    # Compressed once: the same bytes object answers the second request.
    asset = asset_store().file("js/chat/store.js")
    assert asset is not None
    body = asset.encoded["gzip"]
    client.get(f"/static/v/{version}/js/chat/store.js", headers={**HOST, "Accept-Encoding": "gzip"})
    assert asset_store().file("js/chat/store.js").encoded["gzip"] is body


def test_old_or_unversioned_addresses_are_revalidated_not_cached_for_a_year(client) -> None:
    old = client.get("/static/v/0000000000000000/js/api.js", headers=HOST)
    plain = client.get("/static/js/api.js", headers=HOST)
    assert old.status_code == plain.status_code == 200
    assert old.headers["Cache-Control"] == plain.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("url", ["/static/v/x/../../assets.py", "/static/b/0/app+nosuch.css", "/static/b/0/app",
                                 "/static/v/x/css/../../static_files.py", "/static/nosuch.js"])
def test_unknown_or_escaping_static_paths_get_a_json_404(client, url: str) -> None:
    response = client.get(url, headers=HOST)
    assert response.status_code == 404
    assert response.is_json and response.json["error"]


def test_bundle_holds_dark_rules_for_dark_and_system_and_the_page_parts(client) -> None:
    url = asset_store().bundle_url("chat", "workspace")
    css = client.get(url, headers=HOST).get_data(as_text=True)
    assert ':root[data-theme="dark"]' in css
    assert css.index("@media (prefers-color-scheme: dark) {") < css.index(':root[data-theme="system"]')
    assert css.index("/* app */") < css.index("/* chat */") < css.index("/* workspace */")


def test_the_version_follows_the_content(tmp_path: Path) -> None:
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "critical.css").write_text("html{}")
    (tmp_path / "a.js").write_text("export const a = 1;")
    before = AssetStore(tmp_path).version
    assert AssetStore(tmp_path).version == before
    (tmp_path / "a.js").write_text("export const a = 2;")
    assert AssetStore(tmp_path).version != before


def test_security_page_marks_its_own_link_not_settings(runtime, client) -> None:
    from tests.auth_helpers import login, make_owner

    make_owner(runtime)
    login(client)
    html = client.get("/security").get_data(as_text=True)
    assert '<a href="/security" aria-current="page">Security</a>' in html
    assert '<a href="/settings" aria-current="page">' not in html


@pytest.fixture
def seeded_session(runtime) -> str:
    from tests.browser.chat_fixtures import seed_long_session

    session_id = seed_long_session(runtime, 20)
    runtime.chat.repo.update_session(session_id, state="active")
    return session_id


@pytest.mark.parametrize(("path", "entry", "drawn"), [
    ("/", "js/chat/home.js", '<article class="session card preview'),
    ("/s/{id}", "js/chat/session-page.js", '<article class="session full preview')])
def test_chat_pages_paint_their_sessions_before_loading_any_module(client, seeded_session: str, path: str,
                                                                   entry: str, drawn: str) -> None:
    """The chat pages' HTML is their first paint (the newest messages, drawn by the server):
    preloading ~30 modules from <head> held that paint back, so none is preloaded and the
    entry module comes after what is drawn."""
    html = client.get(path.format(id=seeded_session), headers=HOST).get_data(as_text=True)
    assert "modulepreload" not in html
    assert seeded_session in html and 0 <= html.index(drawn) < html.rindex(entry)
