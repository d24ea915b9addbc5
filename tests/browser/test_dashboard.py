"""The dashboard and notifications in a real Chromium against a real Nexus (and, where marked,
the real OpenCode against the fake model provider).

Checked: charts drawn from the in-memory history and growing every second, the tunnel panel,
toasts and the bell for notifications from real bus events, a kind switched off shows no
toast, a long reply finished in a background tab, desktop notifications asked for on a click;
with the real OpenCode: stop and start from the buttons, and `kill -9` of its process (the PID
the supervisor holds) shows the crash, the restart history and the toasts. axe-core, 375 px,
screenshots light and dark at 375 and 1440 px in test-results/screenshots/dashboard-*.png.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveNexus
from tests.browser.test_server_page import AXE_TAGS, RESULTS, STREAM_TIMEOUT, no_horizontal_scroll, open_page, wait_live  # noqa: F401
from tests.browser.viewports import VIEWS


def points(page: Page, chart: str) -> int:
    return int(page.locator(f"#chart-{chart}").get_attribute("data-points") or 0)


def wait_points(page: Page, chart: str, more_than: int, timeout: float = STREAM_TIMEOUT / 1000) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = points(page, chart)
        if n > more_than:
            return n
        page.wait_for_timeout(200)
    raise AssertionError(f"chart {chart} stayed at {points(page, chart)} points")


def toast(page: Page, title: str) -> Any:
    return page.locator("#notification-toasts .notification-toast", has_text=title)


def publish_tunnel(live: LiveNexus, state: str, url: str | None = None, reason: str = "") -> None:
    live.runtime.bus.publish("tunnel.state", state=state, reason=reason, url=url, mode="quick")


# ----- the page without OpenCode ------------------------------------------------------------------

def test_charts_start_from_history_and_grow(open_page: Any, live_nexus: LiveNexus) -> None:
    time.sleep(3)  # the sampler's history holds a few seconds before the page opens
    page, watch = open_page()
    expect(page).to_have_title("Dashboard · Nexus")
    wait_live(page)
    first = wait_points(page, "cpu", 1)  # from the hello: not empty on load
    assert first >= 3, first
    grown = wait_points(page, "cpu", first)
    for chart in ("rss", "req", "err"):
        assert points(page, chart) >= grown - 1
    assert page.locator("#chart-cpu canvas").count() == 1
    assert page.locator("#chart-cpu").get_attribute("data-last") == "0"  # the server is stopped
    assert watch.page_errors == [] and watch.console_errors == [], watch.console_errors
    assert watch.hosts == {"127.0.0.1"}


def test_tunnel_panel_shows_the_address_the_qr_code_and_copies(open_page: Any, live_nexus: LiveNexus) -> None:
    page, _ = open_page(permissions=["clipboard-read", "clipboard-write"])
    wait_live(page)
    expect(page.locator("#tunnel-state")).to_have_text("off")
    expect(page.get_by_role("button", name="Start tunnel")).to_be_disabled()  # tunnel.mode is off
    url = "https://calm-river-1234.trycloudflare.com"
    live_nexus.runtime.tunnel._url = url  # the QR endpoint draws the manager's own address
    publish_tunnel(live_nexus, "connected", url)
    expect(page.locator("#tunnel-state")).to_have_text("connected")
    expect(page.locator("#tunnel-url")).to_have_text(url)
    expect(page.locator("#tunnel-qr")).to_be_visible()
    expect(page.locator("#tunnel-qr-img")).to_have_js_property("complete", True)
    assert page.locator("#tunnel-qr-img").evaluate("img => img.naturalWidth") > 0, "the QR code loaded"
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#tunnel-copied")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == url
    publish_tunnel(live_nexus, "error", reason="cloudflared exited (code 1)")
    expect(page.locator("#tunnel-reason")).to_have_text("cloudflared exited (code 1)")
    expect(page.locator("#tunnel-qr")).to_be_hidden()



@pytest.fixture
def real_tunnel(live_nexus: LiveNexus, real_cloudflared: Path) -> Any:
    """The live Nexus set to a quick tunnel with the real cloudflared; put back afterwards."""
    live_nexus.runtime.settings.update({"tunnel.mode": "quick", "tunnel.binary": str(real_cloudflared),
                                        "tunnel.restart_max_attempts": 0})
    yield real_cloudflared
    live_nexus.runtime.tunnel.stop()
    live_nexus.runtime.settings.update({"tunnel.mode": "off", "tunnel.binary": ""})


def test_tunnel_panel_runs_the_real_cloudflared(open_page: Any, real_tunnel: Path) -> None:
    """Start from the panel with the real program: offline it says why, and which cloudflared ran."""
    from tests.conftest import REAL_CLOUDFLARED_VERSION

    page, watch = open_page()
    wait_live(page)
    page.get_by_role("button", name="Start tunnel").click()
    expect(page.locator("#tunnel-state")).to_have_text("error", timeout=STREAM_TIMEOUT)
    expect(page.locator("#tunnel-reason")).to_contain_text("could not reach Cloudflare")
    expect(page.locator("#tunnel-binary")).to_contain_text(f"cloudflared {REAL_CLOUDFLARED_VERSION}")
    expect(page.locator("#tunnel-binary")).to_contain_text(str(real_tunnel))
    assert watch.page_errors == []


# ----- notifications ------------------------------------------------------------------------------

def test_toasts_bell_list_and_mark_read(open_page: Any, live_nexus: LiveNexus) -> None:
    other, _ = open_page("/")  # every page has the bell, not only the dashboard
    page, watch = open_page()
    wait_live(page)
    expect(page.locator("#notifications-empty")).to_be_visible()
    page.wait_for_timeout(500)  # the global module's stream is up too
    publish_tunnel(live_nexus, "connected", "https://a.trycloudflare.com")
    expect(toast(page, "Tunnel connected")).to_be_visible()
    expect(toast(other, "Tunnel connected")).to_be_visible()
    expect(page.locator("#bell-count")).to_have_text("1")
    expect(other.locator("#bell-count")).to_have_text("1")
    expect(page.locator("#bell")).to_have_attribute("aria-label", "Notifications: 1 unread")
    items = page.locator("#notification-list li")
    expect(items).to_have_count(1)
    expect(items.first).to_have_class(re.compile("unread"))
    expect(items.first).to_contain_text("https://a.trycloudflare.com")

    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#bell-count")).to_be_hidden()
    expect(other.locator("#bell-count")).to_be_hidden()  # the other tab hears it too
    expect(items.first).not_to_have_class(re.compile("unread"))
    assert live_nexus.runtime.notifications.repo.unread_count() == 0

    toast(page, "Tunnel connected").get_by_role("button", name=re.compile("^Dismiss")).click()
    expect(toast(page, "Tunnel connected")).to_have_count(0)
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#notifications-empty")).to_be_visible()
    assert live_nexus.runtime.notifications.repo.count() == 0
    other.goto("/dashboard")
    expect(other.locator("#notification-list li")).to_have_count(0)
    assert watch.page_errors == []


def test_a_kind_switched_off_shows_no_toast(open_page: Any, live_nexus: LiveNexus) -> None:
    page, _ = open_page()
    wait_live(page)
    # Switched off the way the settings page does it: PATCH /api/settings from the browser.
    res = page.evaluate("""async () => (await fetch('/api/settings', {method: 'PATCH',
        headers: {'Content-Type': 'application/json',
                  'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
        body: JSON.stringify({'notifications.tunnel_up': false})})).status""")
    assert res == 200
    page.wait_for_timeout(500)
    publish_tunnel(live_nexus, "connected", "https://b.trycloudflare.com")
    publish_tunnel(live_nexus, "error", reason="lost the connection")
    expect(toast(page, "Tunnel disconnected")).to_be_visible()  # its kind is on: the pipeline works
    expect(toast(page, "Tunnel connected")).to_have_count(0)
    expect(page.locator("#notification-list li")).to_have_count(1)
    assert [n["kind"] for n in live_nexus.runtime.notifications.repo.recent()] == ["tunnel_down"]


HIDDEN_TAB = """Object.defineProperty(document, 'hidden', {configurable: true, get: () => !!window.__hidden});"""


@pytest.mark.parametrize("enabled", [True, False])
def test_a_long_reply_finished_in_a_background_tab(open_page: Any, live_nexus: LiveNexus, enabled: bool) -> None:
    rt = live_nexus.runtime
    rt.settings.update({"notifications.long_reply_seconds": 1, "notifications.reply_finished": enabled})
    rt.chat.repo.create_session({"id": "s_long", "engine": "opencode", "engine_ref": "ses_long",
                                 "title": "Write the parser"})
    page, _ = open_page("/", init_script=HIDDEN_TAB)
    page.wait_for_timeout(1000)
    event = {"session_id": "s_long", "type": "session.status", "seq": 1}
    rt.bus.publish("chat.session", **event, status="busy")
    page.wait_for_timeout(300)
    page.evaluate("window.__hidden = true")
    page.wait_for_timeout(1200)
    rt.bus.publish("chat.session", **{**event, "seq": 2}, status="idle")
    if enabled:
        expect(toast(page, "A reply finished")).to_contain_text("Write the parser")
        expect(toast(page, "A reply finished").get_by_role("link", name="Open")).to_have_attribute("href", "/s/s_long")
    else:
        page.wait_for_timeout(1500)
        expect(toast(page, "A reply finished")).to_have_count(0)
    # A short reply, or one that ends while the tab is visible, says nothing.
    page.evaluate("window.__hidden = false")
    page.locator("#notification-toasts").evaluate("t => t.replaceChildren()")
    rt.bus.publish("chat.session", **{**event, "seq": 3}, status="busy")
    page.wait_for_timeout(1200)
    rt.bus.publish("chat.session", **{**event, "seq": 4}, status="idle")
    page.wait_for_timeout(1000)
    expect(page.locator("#notification-toasts .notification-toast")).to_have_count(0)


def test_desktop_notifications_are_asked_for_on_a_click(open_page: Any, live_nexus: LiveNexus,
                                                        browser: Any) -> None:
    page, _ = open_page()
    wait_live(page)
    ask = page.get_by_role("button", name="Enable desktop notifications")
    expect(ask).to_be_visible()
    assert page.evaluate("Notification.permission") == "default"  # nothing asked on load
    page.context.grant_permissions(["notifications"])
    ask.click()
    expect(page.locator("#desktop-note")).to_have_text("Desktop notifications are on.")
    expect(ask).to_be_hidden(timeout=5000)
    # Shown on the desktop when the tab is in the background, however it is shown: by the page's
    # Notification constructor, or by the service worker (which controls the page once it has
    # claimed it). Both are recorded: headless Chromium has no notification centre to look at.
    page.evaluate("""() => { window.__shown = [];
        const Real = window.Notification;
        window.Notification = class extends Real { constructor(t, o) { super(t, o); window.__shown.push(t); } };
        const realShow = ServiceWorkerRegistration.prototype.showNotification;
        ServiceWorkerRegistration.prototype.showNotification = function (t, o) {
            return realShow.call(this, t, o).then((v) => { window.__shown.push(t); return v; }); };
        Object.defineProperty(window.Notification, 'permission', {get: () => 'granted'});
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true}); }""")
    publish_tunnel(live_nexus, "connected", "https://c.trycloudflare.com")
    expect(toast(page, "Tunnel connected")).to_be_visible()
    shown = page.evaluate("""async () => {  // the worker's is asynchronous; and it is shown once only
        for (let i = 0; i < 50 && !window.__shown.length; i++) await new Promise((r) => setTimeout(r, 100));
        await new Promise((r) => setTimeout(r, 300));
        return window.__shown; }""")
    assert shown == ["Tunnel connected"]


# ----- accessibility, phones, screenshots ---------------------------------------------------------

def _fill(live: LiveNexus) -> None:
    """Something in every panel: a notification list, an error in the history."""
    center = live.runtime.notifications
    center.notify("server_crash", "OpenCode crashed", "exited with code -9", level="error", link="/dashboard")
    center.notify("server_restart", "OpenCode is running again", "Nexus restarted it automatically.",
                  level="success", link="/dashboard")
    center.notify("tunnel_up", "Tunnel connected", "https://a-rather-long-name-for-a-tunnel.trycloudflare.com",
                  level="success", link="/dashboard")


@pytest.mark.parametrize("name", list(VIEWS))
def test_axe_phone_width_and_screenshots(open_page: Any, live_nexus: LiveNexus, screenshot_dir: Path,
                                         name: str) -> None:
    _fill(live_nexus)
    time.sleep(2)
    page, watch = open_page(**VIEWS[name])
    wait_live(page)
    wait_points(page, "cpu", 2)
    expect(page.locator("#notification-list li")).to_have_count(3)
    page.wait_for_timeout(300)
    publish_tunnel(live_nexus, "error", reason="cloudflared could not reach Cloudflare (code 1)")
    live_nexus.runtime.notifications.notify("permission", "A session is waiting for your permission",
                                            "“Refactor the parser” asks before it goes on.", level="warning",
                                            link="/s/x")
    expect(toast(page, "waiting for your permission")).to_be_visible()
    dims = no_horizontal_scroll(page)
    assert dims["inner"] == VIEWS[name]["viewport"]["width"]
    chart_width = page.locator("#chart-cpu canvas").evaluate("c => c.getBoundingClientRect().width")
    assert 100 < chart_width <= dims["inner"], chart_width
    page.screenshot(path=screenshot_dir / f"dashboard-{name}.png", full_page=True)

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    assert results.response.get("testEngine", {}).get("name") == "axe-core", "axe did not run"
    (RESULTS / f"axe-dashboard-{name}.json").write_text(json.dumps(results.response["violations"], indent=2))
    serious = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not serious, results.generate_report()
    assert watch.page_errors == [] and watch.console_errors == [], watch.console_errors


# ----- with the real OpenCode ---------------------------------------------------------------------

@pytest.mark.opencode
def test_with_opencode_charts_controls_and_a_crash(no_leftover_processes: None, open_page: Any, live_nexus: LiveNexus,
                                                   screenshot_dir: Path, opencode_settings: dict) -> None:
    rt = live_nexus.runtime
    rt.settings.update({**opencode_settings, "restart.initial_delay": 0.2})
    page, watch = open_page(viewport={"width": 1440, "height": 900}, color_scheme="light")
    wait_live(page)
    start = page.get_by_role("button", name="Start", exact=True)
    stop = page.get_by_role("button", name="Stop", exact=True)

    start.click()
    expect(page.locator("#server-state")).to_have_text("running", timeout=60_000)
    # The charts get new points while it runs, and the memory chart shows the real process.
    before = points(page, "rss")
    wait_points(page, "rss", before + 2)
    expect(page.locator("#chart-rss")).not_to_have_attribute("data-last", "0", timeout=STREAM_TIMEOUT)
    assert float(page.locator("#chart-rss").get_attribute("data-last")) > 10  # MiB
    rt.supervisor.client.json("GET", "/session")  # a request to OpenCode: the requests chart sees it
    expect(page.locator("#chart-req")).not_to_have_attribute("data-last", "0", timeout=STREAM_TIMEOUT)

    stop.click()
    expect(page.locator("#server-state")).to_have_text("stopped", timeout=30_000)
    expect(start).to_be_enabled()
    start.click()
    expect(page.locator("#server-state")).to_have_text("running", timeout=60_000)
    assert rt.notifications.repo.count() == 0, "a stop and a start by hand notify nothing"

    pid = rt.supervisor.pid
    assert pid and page.locator("#server-pid").inner_text() == str(pid)
    os.kill(pid, signal.SIGKILL)  # the PID the supervisor started, never by name
    expect(toast(page, "OpenCode crashed")).to_be_visible(timeout=STREAM_TIMEOUT)
    expect(toast(page, "OpenCode is running again")).to_be_visible(timeout=60_000)
    expect(page.locator("#server-state")).to_have_text("running")
    expect(page.locator("#server-restarts")).to_have_text("1")
    crash_row = page.locator("#history li", has_text="crashed")
    expect(crash_row).to_have_count(1)
    expect(crash_row).to_contain_text("exit -9")
    expect(crash_row.locator(".outcome")).to_have_text("ok")
    expect(page.locator("#notification-list li")).to_have_count(2)
    expect(page.locator("#bell-count")).to_have_text("2")
    assert rt.supervisor.pid not in (None, pid)
    page.screenshot(path=screenshot_dir / "dashboard-desktop-light-after-crash.png", full_page=True)
    assert watch.page_errors == [], watch.page_errors

    stop.click()
    expect(page.locator("#server-state")).to_have_text("stopped", timeout=30_000)


def test_through_the_tunnel_signed_in(open_page: Any, live_nexus: LiveNexus) -> None:
    """As a phone through cloudflared: sign-in first, then the dashboard, its streams and toasts work."""
    from tests.auth_helpers import OWNER, PASSWORD, make_owner

    make_owner(live_nexus.runtime)
    page, watch = open_page("/dashboard", extra_http_headers={"Cf-Connecting-Ip": "203.0.113.20"}, **VIEWS["phone-dark"])
    expect(page).to_have_url(re.compile(r"/login\?next=/dashboard$"))
    expect(page.locator("#bell")).to_have_count(0)  # no bell (and no stream) before sign-in
    page.get_by_label("User name").fill(OWNER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    wait_live(page)
    page.wait_for_timeout(500)
    publish_tunnel(live_nexus, "connected", "https://d.trycloudflare.com")
    expect(toast(page, "Tunnel connected")).to_be_visible()
    page.get_by_role("button", name="Mark all read").click()  # a state change: CSRF header from api.js
    expect(page.locator("#bell-count")).to_be_hidden()
    assert live_nexus.runtime.notifications.repo.unread_count() == 0
    assert watch.page_errors == []
