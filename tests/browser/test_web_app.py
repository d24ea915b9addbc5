"""The installable web app in a real Chromium: the manifest is valid and installable (Chromium
reports no installability errors), it and its icons are served without sign-in, and the
service worker opens the app shell when the computer cannot be reached, then reconnects by
itself when Nexus answers again."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, expect

from tests.browser.auth_helpers import serious_violations
from tests.browser.conftest import SCREENSHOTS, LiveNexus
from tests.browser.viewports import VIEWS


def test_manifest_and_icons_are_served_without_sign_in(live_nexus: LiveNexus) -> None:
    from tests.auth_helpers import make_owner

    make_owner(live_nexus.runtime)  # now every page needs sign-in

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)

    def get(path: str) -> tuple[int, dict, bytes]:
        try:
            with opener.open(live_nexus.url + path, timeout=10) as r:  # no cookies: a stranger
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    assert get("/")[0] in (302, 303)
    status, headers, body = get("/manifest.webmanifest")
    assert status == 200 and headers["Content-Type"].startswith("application/manifest+json")
    data = json.loads(body)
    assert data["display"] == "standalone" and data["start_url"] == "/" and data["name"] == "Nexus"
    sizes = {(i["sizes"], i["purpose"]) for i in data["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in [*data["icons"], {"src": "/static/img/apple-touch-icon.png"}]:
        status, _, content = get(icon["src"])
        assert status == 200, icon
        if icon["src"].endswith(".png"):
            assert content[:8] == b"\x89PNG\r\n\x1a\n"
    status, headers, _ = get("/sw.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    status, _, body = get("/offline")
    assert status == 200 and "Can't reach your computer" in body.decode()


def test_chromium_finds_the_app_installable(browser_type: Any, browser_type_launch_args: dict,
                                            live_nexus: LiveNexus, tmp_path: Path) -> None:
    # A profile on disk: Chromium never offers to install from an incognito context.
    context = browser_type.launch_persistent_context(str(tmp_path / "profile"), base_url=live_nexus.url,
                                                     **browser_type_launch_args, **VIEWS["desktop-light"])
    try:
        page = context.new_page()
        page.goto("/")
        page.wait_for_function("navigator.serviceWorker.ready.then(() => true)", timeout=15_000)
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"].endswith("/manifest.webmanifest")
        assert not manifest.get("errors"), manifest["errors"]
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == [], json.dumps(errors)
        head = page.evaluate("""() => ({
            apple: document.querySelector('link[rel=apple-touch-icon]')?.href,
            themes: [...document.querySelectorAll('meta[name=theme-color]')].map(m => m.media + ' ' + m.content)})""")
        assert head["apple"].endswith("/static/img/apple-touch-icon.png")
        assert len(head["themes"]) == 2
    finally:
        context.close()


def test_app_shell_opens_offline_and_reconnects_by_itself(browser: Browser, live_nexus: LiveNexus) -> None:
    from nexus.ui.http_server import WebServer

    port = int(live_nexus.url.rsplit(":", 1)[1])
    for view in ("phone-light", "desktop-dark"):
        context = browser.new_context(base_url=live_nexus.url, **VIEWS[view])
        try:
            page = context.new_page()
            page.goto("/sessions")
            page.wait_for_function("navigator.serviceWorker.controller !== null || "
                                   "navigator.serviceWorker.ready.then(() => true)", timeout=15_000)
            page.reload()  # now controlled by the worker
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)

            live_nexus.server.stop()  # the computer is gone
            page.goto("/sessions")
            expect(page.get_by_role("heading", level=1)).to_have_text("Can't reach your computer")
            expect(page.get_by_role("button", name="Try again now")).to_be_visible()
            assert page.evaluate("getComputedStyle(document.querySelector('.btn.primary')).borderRadius") != "0px", \
                "the shell's stylesheet came from the cache"
            assert not serious_violations(page)
            page.screenshot(path=str(SCREENSHOTS / f"offline-{view}.png"))
            page.get_by_role("button", name="Try again now").click()
            expect(page.locator("#offline-status")).to_contain_text("Not reachable yet")

            live_nexus.server = WebServer(live_nexus.server.app, "127.0.0.1", port).start()  # back again
            expect(page.get_by_role("heading", level=1)).to_have_text("All sessions", timeout=45_000)
            assert page.url.endswith("/sessions")
        finally:
            context.close()


def test_service_worker_shows_notifications_in_the_background(browser: Browser, live_nexus: LiveNexus) -> None:
    context = browser.new_context(base_url=live_nexus.url, **VIEWS["desktop-light"])
    try:
        context.grant_permissions(["notifications"])
        page = context.new_page()
        page.goto("/dashboard")
        page.wait_for_function("navigator.serviceWorker.ready.then(() => true)", timeout=15_000)
        page.reload()
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15_000)
        shown: Any = page.evaluate("""async () => {
            const { showDesktop } = await import(document.querySelector('script[src*="notifications/global.js"]')
                .src.replace('global.js', 'desktop.js'));
            Object.defineProperty(document, 'hidden', { value: true, configurable: true });
            const how = showDesktop({ id: 7, title: 'Needs you', body: 'Session s1 waits', link: '/s/s1' });
            const reg = await navigator.serviceWorker.ready;
            for (let i = 0; i < 50; i++) {
                const list = await reg.getNotifications({ tag: 'nexus-7' });
                if (list.length) return { how, title: list[0].title, link: list[0].data.link };
                await new Promise((r) => setTimeout(r, 100));
            }
            return { how, title: null };
        }""")
        assert shown == {"how": "service-worker", "title": "Needs you", "link": "/s/s1"}, shown
    finally:
        context.close()
