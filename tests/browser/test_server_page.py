"""The dashboard's server part (`/dashboard`) in a real Chromium, against a real Nexus (OpenCode is never started).

What is checked: a clean load (no console errors, nothing fetched from any host but
127.0.0.1), the live indicator, the error shown when OpenCode cannot start, metrics that
update from the stream, the SSE fallback, axe-core in light and dark, no horizontal scroll
on phones, and screenshots (desktop and phone, light and dark) in test-results/screenshots/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Playwright, WebSocketRoute, expect

from nexus.server.supervisor import ServerError
from tests.browser.viewports import VIEWS

from .conftest import SCREENSHOTS, LiveNexus

RESULTS = SCREENSHOTS.parent

MISSING_BINARY = "/nonexistent/nexus-browser-test/a-rather-long-folder-name-to-stress-wrapping/opencode"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
STREAM_TIMEOUT = 10_000  # ms; the sampler publishes once a second


class Watch:
    """Console errors, uncaught page errors and every host the page talks to (HTTP and WebSocket)."""

    def __init__(self, page: Page) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.urls: list[str] = []
        self.websockets: list[str] = []
        self.eventsources: list[str] = []
        self.ws_frames: list[str] = []
        page.on("console", lambda m: self.console_errors.append(f"{m.text} @ {m.location}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("request", self._request)
        page.on("websocket", self._websocket)

    def _request(self, request: Any) -> None:
        self.urls.append(request.url)
        if request.resource_type == "eventsource":
            self.eventsources.append(request.url)

    def _websocket(self, ws: Any) -> None:
        self.urls.append(ws.url)
        self.websockets.append(ws.url)
        ws.on("framereceived", lambda payload: self.ws_frames.append(
            payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))

    @property
    def hosts(self) -> set[str]:
        return {urlsplit(u).hostname or f"<{urlsplit(u).scheme}>" for u in self.urls
                if urlsplit(u).scheme not in ("data", "blob", "about")}


@pytest.fixture
def open_page(new_page: Any, live_nexus: LiveNexus) -> Any:
    """open_page(path, init_script=, ws_route=, **context_options) -> (page, watch), in a fresh
    context (closed after the test) whose base_url is the live Nexus."""

    def _open(path: str = "/dashboard", init_script: str | None = None, ws_route: Any = None,
              **options: Any) -> tuple[Page, Watch]:
        page = new_page(live_nexus.url, init_script, **options)
        if ws_route:
            page.context.route_web_socket(re.compile(r"/api/stream(\?.*)?$"), ws_route)
        watch = Watch(page)
        page.goto(path)
        return page, watch

    return _open


def wait_live(page: Page) -> None:
    expect(page.locator("#conn")).to_have_text("Live", timeout=STREAM_TIMEOUT)
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")


def wait_metrics(page: Page) -> str:
    age = page.locator("#metrics-age")
    expect(age).to_have_text(re.compile(r"^updated "), timeout=STREAM_TIMEOUT)
    return age.inner_text()


def add_failed_restart(live: LiveNexus) -> None:
    """Puts the server into the 'could not start' state with one failed restart in the history."""
    live.runtime.settings.update({"server.binary": MISSING_BINARY})
    with pytest.raises(ServerError):
        live.runtime.supervisor.restart("manual")


def no_horizontal_scroll(page: Page) -> dict[str, int]:
    dims = page.evaluate("""() => ({
        inner: window.innerWidth,
        doc: document.documentElement.scrollWidth,
        body: document.body.scrollWidth,
        widest: Math.max(...[...document.querySelectorAll('body *')].map(e => e.getBoundingClientRect().right)),
    })""")
    assert dims["doc"] <= dims["inner"] and dims["body"] <= dims["inner"], f"horizontal scroll: {dims}"
    assert dims["widest"] <= dims["inner"] + 0.5, f"an element sticks out to the right: {dims}"
    return dims


def one_line(page: Page, selector: str) -> bool:
    return page.locator(selector).evaluate(
        "e => e.getBoundingClientRect().height < 1.5 * parseFloat(getComputedStyle(e).lineHeight)")


# ----- loading and the live connection ----------------------------------------------------------

def test_page_loads_clean_and_offline(open_page: Any) -> None:
    page, watch = open_page()
    expect(page).to_have_title("Dashboard · Nexus")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_enabled()
    expect(page.locator("#server-state")).to_have_text("stopped")
    expect(page.locator("#history-empty")).to_be_visible()
    wait_live(page)
    wait_metrics(page)
    page.wait_for_load_state("load")
    assert watch.console_errors == [], watch.console_errors
    assert watch.page_errors == [], watch.page_errors
    assert watch.hosts == {"127.0.0.1"}, sorted(set(watch.urls))
    # The stylesheet, the module scripts and the icon all loaded (CSP allows them).
    loaded = {re.sub(r"^/static/v/[0-9a-f]+/", "/static/", urlsplit(u).path) for u in watch.urls}
    assert any(re.fullmatch(r"/static/b/[0-9a-f]+/app\+dark\+notifications\+uplot\+dashboard\+touch\.css", u) for u in loaded)
    assert {"/static/js/dashboard/page.js", "/static/js/live.js", "/static/js/api.js",
            "/static/js/format.js", "/static/vendor/uplot-1.6.32/uPlot.esm.min.js",
            "/static/js/notifications/global.js"} <= loaded, sorted(loaded)


def test_live_indicator_uses_websocket(open_page: Any) -> None:
    page, watch = open_page()
    wait_live(page)
    # The page's own stream, and the narrow one of the notifications module every page has.
    assert sorted(urlsplit(u).query for u in watch.websockets) == ["", "topics=notifications.%2Cchat.session%2Csettings.changed"]
    assert {urlsplit(u).path for u in watch.websockets} == {"/api/stream"}
    assert watch.eventsources == []
    expect(page.locator("body")).to_have_attribute("data-live", "live")


def test_live_indicator_goes_offline_when_nexus_stops(open_page: Any, live_nexus: LiveNexus) -> None:
    page, _ = open_page()
    wait_live(page)
    live_nexus.server.stop()  # ends the stream (close 1001) and the listener; teardown's stop is a no-op
    expect(page.locator("#conn")).to_have_text("Offline — reconnecting", timeout=STREAM_TIMEOUT)
    expect(page.locator("#conn")).to_have_attribute("data-state", "offline")


# ----- controls ---------------------------------------------------------------------------------

def test_start_without_opencode_shows_the_reason(open_page: Any, live_nexus: LiveNexus) -> None:
    live_nexus.runtime.settings.update({"server.binary": MISSING_BINARY})
    page, watch = open_page()
    wait_live(page)
    reason = page.locator("#server-reason")
    expect(reason).to_be_hidden()  # empty until something happens (.reason:empty)

    with page.expect_response("**/api/server/start") as info:
        page.get_by_role("button", name="Start", exact=True).click()
    response = info.value
    assert response.status == 503
    message = response.json()["error"]["message"]
    assert "does not exist or is not executable" in message and MISSING_BINARY in message

    expect(reason).to_be_visible()
    expect(reason).to_contain_text("does not exist or is not executable")
    expect(reason).to_contain_text(MISSING_BINARY)
    expect(page.locator("#server-state")).to_have_text("stopped")
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_enabled()  # can try again
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_disabled()
    # The only console error is the browser's own note about the 503 response.
    assert all("503" in e for e in watch.console_errors), watch.console_errors
    assert watch.page_errors == []


def test_restart_history_lists_a_failed_restart(open_page: Any, live_nexus: LiveNexus) -> None:
    add_failed_restart(live_nexus)
    page, _ = open_page()
    items = page.locator("#history li")
    expect(items).to_have_count(1)
    expect(items.first.locator(".outcome")).to_have_text("failed")
    expect(items.first.locator(".what")).to_contain_text("manual")
    expect(page.locator("#history-empty")).to_be_hidden()


# ----- the stream -------------------------------------------------------------------------------

def test_metrics_update_from_the_websocket(open_page: Any) -> None:
    page, watch = open_page()
    wait_live(page)
    first = wait_metrics(page)
    expect(page.locator("#metrics-age")).not_to_have_text(first, timeout=STREAM_TIMEOUT)
    # Stopped server: the sampler still reports zeros every second.
    expect(page.locator("#m-cpu")).to_have_text("0.0 %")
    expect(page.locator("#m-rss")).to_have_text("0 B")
    kinds = [json.loads(f).get("type") for f in watch.ws_frames]
    assert kinds[0] == "hello", kinds[:5]
    assert kinds.count("server.metrics") >= 1, kinds


@pytest.mark.parametrize("how", ["ws-blocked", "ws-absent"])
def test_sse_fallback_when_websocket_is_unavailable(open_page: Any, how: str) -> None:
    refused: list[str] = []

    def refuse(ws: WebSocketRoute) -> None:
        """Like a proxy that refuses the upgrade: the socket closes without ever opening."""
        refused.append(ws.url)
        ws.close(code=1011, reason="WebSockets are blocked here")

    if how == "ws-blocked":  # Playwright's own WebSocket routing; the page's CSP still applies
        page, watch = open_page(ws_route=refuse)
    else:  # a browser (or embedded web view) without WebSocket support
        page, watch = open_page(init_script="delete window.WebSocket;")
    wait_live(page)
    first = wait_metrics(page)
    expect(page.locator("#metrics-age")).not_to_have_text(first, timeout=STREAM_TIMEOUT)
    # Both streams of the page (its own, the notifications module's) fell back.
    assert [urlsplit(u).path for u in watch.eventsources] == ["/api/stream/sse"] * 2, watch.eventsources
    assert watch.websockets == []  # none reached the server (routed ones are not reported here)
    if how == "ws-blocked":  # live.js gives WebSockets two tries before it falls back
        assert [urlsplit(u).path for u in refused] == ["/api/stream"] * 4, refused
    assert watch.page_errors == []
    assert watch.hosts == {"127.0.0.1"}


# A WebSocket that fails with an `error` event but no `close` event. Chromium does exactly
# that when the connection is blocked (here: by the page's own CSP, connect-src 'self', because
# the socket is pointed at another port). live.js only reacts to `close` and has no connect
# timeout, so the page says "Connecting…" forever and never falls back to SSE. A proxy that
# accepts the connection but never answers the upgrade would likely hang it the same way.
POINT_WS_ELSEWHERE = """(() => {
    const Real = window.WebSocket;
    window.WebSocket = function (url, protocols) {
        const u = new URL(url); u.port = "9";  // not 'self': CSP blocks it -> error, never close
        return new Real(u.href, protocols);
    };
    window.WebSocket.prototype = Real.prototype;
})();"""


def test_sse_fallback_when_websocket_errors_without_closing(open_page: Any) -> None:
    page, watch = open_page(init_script=POINT_WS_ELSEWHERE)
    expect(page.locator("#conn")).to_have_text("Live", timeout=6_000)  # WS-blocked: <1 s
    assert watch.eventsources


# ----- accessibility ----------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violations(open_page: Any, live_nexus: LiveNexus, scheme: str) -> None:
    add_failed_restart(live_nexus)  # error text, a history row: more for axe to check
    page, _ = open_page(color_scheme=scheme)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    wait_live(page)
    wait_metrics(page)
    expect(page.locator("#history li")).to_have_count(1)

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    assert results.response.get("testEngine", {}).get("name") == "axe-core", "axe did not run"
    violations = results.response["violations"]
    report = RESULTS / f"axe-{scheme}.json"  # every violation, any impact, for reading
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(violations, indent=2))
    serious = [v for v in violations if v.get("impact") in ("serious", "critical")]
    assert not serious, results.generate_report()


def test_axe_catches_a_bad_page(browser: Browser) -> None:
    """Guards against a silent no-op: axe must report obvious problems."""
    page = browser.new_page()
    page.set_content("<html><body><img src='x.png'><button></button></body></html>")
    ids = {v["id"] for v in Axe().run(page).response["violations"]}
    page.close()
    assert {"image-alt", "button-name", "html-has-lang"} <= ids, ids


# ----- phones and screenshots -------------------------------------------------------------------

@pytest.mark.parametrize("device", ["iPhone 13", "375x812"])
def test_no_horizontal_scroll_on_phones(open_page: Any, live_nexus: LiveNexus, playwright: Playwright,
                                        screenshot_dir: Path, device: str) -> None:
    add_failed_restart(live_nexus)  # the long error text and a history row are the risky parts
    if device == "375x812":
        options: dict[str, Any] = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2,
                                   "is_mobile": True, "has_touch": True}
    else:
        options = dict(playwright.devices[device])
        options.pop("default_browser_type", None)
    page, _ = open_page(**options)
    wait_live(page)
    wait_metrics(page)
    expect(page.locator("#history li")).to_have_count(1)
    dims = no_horizontal_scroll(page)
    assert dims["inner"] == options["viewport"]["width"], dims
    if device == "iPhone 13":
        page.screenshot(path=screenshot_dir / "phone-iphone13-light.png", full_page=True)


@pytest.mark.parametrize("name", list(VIEWS))
def test_screenshots(open_page: Any, live_nexus: LiveNexus, screenshot_dir: Path, name: str) -> None:
    # First the page as a new user sees it, then after a failed restart (reason + history row).
    page, _ = open_page(**VIEWS[name])
    wait_live(page)
    wait_metrics(page)
    page.screenshot(path=screenshot_dir / f"{name}-fresh.png", full_page=True)

    add_failed_restart(live_nexus)
    page.reload()
    wait_live(page)
    wait_metrics(page)
    expect(page.locator("#history li")).to_have_count(1)
    no_horizontal_scroll(page)
    page.screenshot(path=screenshot_dir / f"{name}-error.png", full_page=True)


# ----- with the real OpenCode (skipped when scripts/install-opencode.sh has not run) ------------

@pytest.mark.opencode
@pytest.mark.slow
def test_running_server_page(open_page: Any, live_nexus: LiveNexus, screenshot_dir: Path,
                             request: pytest.FixtureRequest) -> None:
    from tests.conftest import OPENCODE_BIN

    if not OPENCODE_BIN.exists():
        pytest.skip(f"no OpenCode binary at {OPENCODE_BIN} (scripts/install-opencode.sh)")
    live_nexus.runtime.settings.update(request.getfixturevalue("opencode_settings"))
    page, watch = open_page(viewport={"width": 1440, "height": 900}, color_scheme="light")
    wait_live(page)
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#server-state")).to_have_text("running", timeout=60_000)
    expect(page.locator("#server-url")).to_contain_text("http://127.0.0.1:")
    expect(page.locator("#server-pid")).to_have_text(re.compile(r"^\d+$"))
    pid = int(page.locator("#server-pid").inner_text())
    expect(page.locator("#m-rss")).not_to_have_text(re.compile(r"^(—|0 B)$"), timeout=STREAM_TIMEOUT)
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_disabled()
    no_horizontal_scroll(page)
    assert one_line(page, "#server-url"), "the address wraps (inside the port number)"
    page.screenshot(path=screenshot_dir / "desktop-light-running.png", full_page=True)

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not serious, results.generate_report()

    phone, _ = open_page(viewport={"width": 375, "height": 812}, color_scheme="dark", device_scale_factor=2,
                         is_mobile=True, has_touch=True)
    wait_live(phone)
    expect(phone.locator("#server-state")).to_have_text("running")
    expect(phone.locator("#m-rss")).not_to_have_text(re.compile(r"^(—|0 B)$"), timeout=STREAM_TIMEOUT)
    no_horizontal_scroll(phone)
    assert one_line(phone, "#server-url"), "the address wraps (inside the port number)"
    phone.screenshot(path=screenshot_dir / "phone-dark-running.png", full_page=True)

    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator("#server-state")).to_have_text("stopped", timeout=30_000)
    expect(page.locator("#server-reason")).to_be_hidden()  # no error to show
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert watch.page_errors == [] and watch.console_errors == [], watch.console_errors
