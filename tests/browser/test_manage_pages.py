"""/analytics, /sessions and /settings, the navigation, the theme and the keyboard shortcuts,
in a real Chromium against a real Nexus and store (OpenCode is never started).

Screenshots of every page (desktop and phone, light and dark) and axe-core reports go to
test-results/screenshots/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.analytics_data import insert_known_usage, utc
from tests.browser.conftest import SCREENSHOTS, LiveNexus
from tests.browser.viewports import VIEWS

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
DARK_BG = "rgb(15, 17, 21)"
LIGHT_BG = "rgb(247, 247, 248)"
# 403: a security change before the owner confirmed the password (the page then asks for it).
EXPECTED_HTTP = re.compile(r"^Failed to load resource: the server responded with a status of (400|403|422) ")


@pytest.fixture
def known(live_nexus: LiveNexus) -> LiveNexus:
    insert_known_usage(live_nexus.runtime.chat.repo)
    return live_nexus


@pytest.fixture
def open_view(browser: Browser, live_nexus: LiveNexus) -> Iterator[Any]:
    """open_view(path, view="desktop-light", **context options) -> page; every context is closed afterwards.
    Console errors and uncaught exceptions fail the test, except Chromium's note on the 400 and
    422 answers that some tests provoke on purpose (the page shows their message)."""
    contexts: list[Any] = []
    errors: list[str] = []

    def _open(path: str, view: str = "desktop-light", **options: Any) -> Page:
        context = browser.new_context(base_url=live_nexus.url, **{**VIEWS[view], **options})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not EXPECTED_HTTP.search(m.text)
                else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path)
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, errors


def axe_serious(page: Page, name: str) -> list[str]:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    assert results.response.get("testEngine", {}).get("name") == "axe-core", "axe did not run"
    violations = results.response["violations"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # pytest-playwright may have wiped test-results/
    (SCREENSHOTS / f"manage-axe-{name}.json").write_text(json.dumps(violations, indent=2))
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}" for v in violations
            if v.get("impact") in ("serious", "critical")]


def no_horizontal_scroll(page: Page) -> None:
    dims = page.evaluate("""() => ({inner: innerWidth, doc: document.documentElement.scrollWidth,
        body: document.body.scrollWidth, client: document.documentElement.clientWidth})""")
    assert dims["doc"] <= dims["client"] and dims["body"] <= dims["inner"], f"horizontal scroll: {dims}"


def show_days(page: Page, first: str, last: str) -> None:
    page.get_by_label("Custom").check()
    page.get_by_label("From").fill(first)
    page.get_by_label("To (included)").fill(last)
    page.get_by_role("button", name="Show").click()


def show_berlin_days(page: Page) -> None:
    show_days(page, "2026-11-10", "2026-11-11")
    expect(page.locator("#range-label")).to_have_text("2026-11-10 to 2026-11-11 (Europe/Berlin)")


def stat(page: Page, key: str) -> Any:
    return page.locator(f'[data-stat="{key}"] .value')


# ----- analytics --------------------------------------------------------------------------------

def test_analytics_shows_what_the_store_holds(open_view: Any, known: LiveNexus) -> None:
    page = open_view("/analytics", timezone_id="Europe/Berlin")
    show_berlin_days(page)
    for key, text in {"sessions": "4", "messages": "7", "tokens-in": "600", "tokens-out": "155",
                      "tokens-cache": "10 / 3", "cost": "$0.06", "tool-calls": "4", "tool-failure-rate": "33.3%",
                      "first-token": "3.00 s"}.items():
        expect(stat(page, key)).to_have_text(text)
    bash = page.locator('#tools tr[data-tool="bash"] td')
    expect(bash).to_have_text(["2", "1", "1", "50%"])
    expect(page.locator("#outcomes .hbar-label")).to_have_text(["Finished", "Stopped", "No reply yet", "Deleted"])
    expect(page.locator('#outcomes [data-key="aborted"] .hbar-value')).to_have_text("1")
    expect(page.locator('#outcomes [data-key="deleted"] .hbar-value')).to_have_text("1")
    page.locator("#sessions-chart summary").click()
    expect(page.locator("#sessions-chart tbody td")).to_have_text(["1", "3"])


def test_analytics_counts_days_in_the_browsers_time_zone(open_view: Any, known: LiveNexus) -> None:
    page = open_view("/analytics", timezone_id="UTC")
    show_days(page, "2026-11-10", "2026-11-10")
    expect(page.locator("#range-label")).to_have_text("2026-11-10 to 2026-11-10 (UTC)")
    expect(stat(page, "sessions")).to_have_text("2")  # the Berlin 00:30 session is the UTC evening before


def test_analytics_empty_range_and_bad_range(open_view: Any, known: LiveNexus) -> None:
    page = open_view("/analytics", timezone_id="Europe/Berlin")
    show_days(page, "2025-01-01", "2025-01-02")
    expect(stat(page, "sessions")).to_have_text("0")
    expect(stat(page, "first-token")).to_have_text("—")
    expect(page.locator("#tools")).to_contain_text("No tool calls")
    page.get_by_label("From").fill("2025-01-05")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#range-error")).to_contain_text("end must be after start")


# ----- all sessions ------------------------------------------------------------------------------

def add_many_sessions(live: LiveNexus, count: int = 25) -> None:
    repo = live.runtime.chat.repo
    for i in range(count):
        sid = f"m{i:02d}"
        repo.create_session({"id": sid, "engine": "opencode", "engine_ref": f"ref-{sid}", "title": f"Batch {i:02d}",
                             "agent": "plan" if i % 5 == 0 else "build", "model": "fake/odd" if i % 2 else "fake/even",
                             "state": "archived", "created_at": utc(1, 8) + i * 60, "updated_at": utc(1, 8) + i * 60})
    repo.save(None, None, [{"id": "m07-u", "session_id": "m07", "role": "user", "created_at": utc(1, 9)}],
              [(0, {"id": "m07-p", "message_id": "m07-u", "session_id": "m07", "kind": "text",
                    "text": "please refactor the flux capacitor"})])


def rows(page: Page) -> Any:
    return page.locator("#session-rows > li")


def test_sessions_filter_search_delete_undo_and_pages(open_view: Any, live_nexus: LiveNexus) -> None:
    add_many_sessions(live_nexus)
    page = open_view("/sessions")
    expect(page.locator("#result-count")).to_have_text("25 sessions")
    expect(rows(page)).to_have_count(20)
    expect(page.locator("#page-info")).to_have_text("1\u201320 of 25")  # an en dash, as the page writes ranges
    page.get_by_role("button", name="Next").click()
    expect(rows(page)).to_have_count(5)
    expect(page.locator("#page-info")).to_have_text("21\u201325 of 25")
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_role("button", name="Previous").click()
    expect(rows(page)).to_have_count(20)

    page.get_by_label("Agent").select_option("plan")
    expect(page.locator("#result-count")).to_have_text("5 sessions")
    page.get_by_label("Model").select_option("fake/odd")
    expect(page.locator("#result-count")).to_have_text("2 sessions")  # 5 and 15
    expect(rows(page).locator(".row-title")).to_have_text(["Batch 15", "Batch 05"])
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#result-count")).to_have_text("25 sessions")

    page.get_by_label("Search text").fill("capacitor")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#result-count")).to_have_text("1 session")
    expect(rows(page).locator(".row-title")).to_have_text("Batch 07")
    expect(rows(page).get_by_role("button", name="Resume “Batch 07”")).to_be_visible()

    rows(page).get_by_role("button", name="Delete “Batch 07”").click()
    expect(page.locator("#result-count")).to_have_text("0 sessions")
    assert live_nexus.runtime.chat.repo.get_session("m07") is None
    page.locator(".toast").get_by_role("button", name="Undo").click()
    expect(page.locator("#result-count")).to_have_text("1 session")
    assert live_nexus.runtime.chat.repo.get_session("m07")["title"] == "Batch 07"

    rows(page).get_by_role("button", name="Delete “Batch 07”").click()
    page.get_by_label("Search text").fill("")
    page.get_by_label("Status").select_option("deleted")
    expect(rows(page).locator(".row-title")).to_have_text("Batch 07")
    rows(page).get_by_role("button", name="Restore “Batch 07”").click()
    expect(page.locator("#result-count")).to_have_text("0 sessions")
    assert live_nexus.runtime.chat.repo.get_session("m07") is not None


def test_sessions_date_filter_and_export_links(open_view: Any, known: LiveNexus) -> None:
    page = open_view("/sessions", timezone_id="Europe/Berlin")
    expect(page.locator("#result-count")).to_have_text("4 sessions")  # the deleted one is not listed
    page.get_by_label("Started from").fill("2026-11-11")
    page.get_by_label("Started until").fill("2026-11-11")
    page.get_by_role("button", name="Apply").click()
    expect(rows(page).locator(".row-title")).to_have_text(["Session s5", "Session s2"])
    href = rows(page).first.get_by_role("link", name="Export “Session s5” as Markdown").get_attribute("href")
    response = page.request.get(href)
    assert response.ok and "Session s5" in response.text()


def test_sessions_api_rejects_bad_filters(live_nexus: LiveNexus, browser: Browser) -> None:
    context = browser.new_context(base_url=live_nexus.url)
    try:
        for query, words in (("state=gone", "state must be"), ("created_from=soon", "must be a number"),
                             ("agent=" + "x" * 201, "too long"), ("limit=0", "between 1 and 200")):
            response = context.request.get(f"/api/sessions?{query}")
            assert response.status == 400 and words in response.json()["error"]["message"], (query, response.text())
    finally:
        context.close()


def test_models_and_agents_answer_calmly_without_opencode(live_nexus: LiveNexus, browser: Browser) -> None:
    # OpenCode is not running here: pages still load models and agents, 200 with an empty list and why.
    context = browser.new_context(base_url=live_nexus.url)
    try:
        for path, key in (("/api/models", "models"), ("/api/agents", "agents")):
            body = context.request.get(path).json()
            assert body[key] == [] and body["available"] is False and "Start it on the Dashboard" in body["reason"]
    finally:
        context.close()


# ----- settings and theme -------------------------------------------------------------------------

def test_settings_round_trip_and_server_message_beside_the_field(open_view: Any, live_nexus: LiveNexus) -> None:
    settings = live_nexus.runtime.settings
    page = open_view("/settings#advanced")
    page.locator("#set-server-health_failures").fill("7")
    page.locator("#set-server-health_failures").press("Enter")  # submits its section's form
    expect(page.locator("#section-advanced .save-status")).to_contain_text("Saved")
    page.get_by_role("link", name="Remote access").click()
    expect(page.locator("#section-advanced")).to_be_hidden()
    page.get_by_label("Connection type", exact=True).select_option("http2")
    page.get_by_role("button", name="Save remote access settings").click()
    # tunnel.* is a security setting: the owner confirms the password, then the save goes through.
    from tests.auth_helpers import PASSWORD

    dialog = page.get_by_role("dialog", name="Confirm your password")
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator("#section-remote .save-status")).to_contain_text("Saved")
    assert settings["server.health_failures"] == 7 and settings["tunnel.protocol"] == "http2"

    page.reload()
    expect(page.locator("#set-tunnel-protocol")).to_have_value("http2")
    expect(page.locator("#section-remote")).to_be_visible()  # the page in the address stays open
    expect(page.locator("#set-server-health_failures")).to_have_value("7")

    # One bad value refuses the whole save; the server's words show beside that field.
    page.get_by_label("Your domain (named tunnel)", exact=True).fill("not a host name")
    page.get_by_role("button", name="Save remote access settings").click()
    error = page.locator("#set-tunnel-hostname-error")
    expect(error).to_contain_text("must be a host name like nexus.example.com")
    expect(page.locator("#set-tunnel-hostname")).to_have_attribute("aria-invalid", "true")
    assert settings["tunnel.hostname"] == ""

    # A number out of range: the server's message, nothing saved.
    page.get_by_role("link", name="Advanced").click()
    page.locator("#set-server-health_failures").fill("1000")
    page.locator("#set-tunnel-start_timeout").fill("45")
    page.get_by_role("button", name="Save advanced settings").click()
    expect(page.locator("#set-server-health_failures-error")).to_have_text("must be at most 100")
    expect(page.locator("#set-tunnel-start_timeout-error")).to_be_empty()
    assert settings["server.health_failures"] == 7 and settings["tunnel.start_timeout"] == 30.0

    page.locator("#section-advanced").get_by_role("button", name="Reset Health failures to default").click()
    expect(page.locator("#set-server-health_failures")).to_have_value("3")
    assert settings["server.health_failures"] == 3


def test_settings_pages_use_human_labels_raw_keys_only_under_advanced_and_search_finds_any(
        open_view: Any, live_nexus: LiveNexus) -> None:
    page = open_view("/settings")
    links = page.get_by_role("navigation", name="Settings pages").get_by_role("link")
    expect(links).to_have_text(["General", "OpenCode servers", "Remote access", "Security", "Notifications", "Logs",
                                "Advanced"])
    expect(links.first).to_have_attribute("aria-current", "page")
    for group in ("general", "opencode", "remote", "security", "notifications", "logs"):
        assert page.locator(f"#section-{group} code.key").count() == 0, group
    expect(page.locator("#section-advanced code.key").first).to_be_attached()
    # A change that needs a restart says so beside the field.
    page.get_by_role("link", name="OpenCode servers").click()
    expect(page.locator('[data-key="server.binary"] .needs-restart')).to_have_text("Needs an OpenCode restart.")
    expect(page.locator('[data-key="server.autostart"] .needs-restart')).to_have_count(0)
    # Search looks across every page: a notification setting and an advanced one.
    page.get_by_label("Search settings").fill("tunnel")
    expect(page.locator("#search-count")).to_contain_text("settings match")
    expect(page.get_by_label("The tunnel connected", exact=True)).to_be_visible()
    expect(page.locator("#set-tunnel-start_timeout")).to_be_visible()
    expect(page.locator("#set-general-theme")).to_be_hidden()
    page.get_by_label("Search settings").fill("zzzz nothing")
    expect(page.get_by_role("heading", name="No setting matches")).to_be_visible()
    page.get_by_label("Search settings").fill("")
    expect(page.locator("#section-opencode")).to_be_visible()
    expect(page.locator("#section-notifications")).to_be_hidden()


def test_key_value_editor_saves_the_environment(open_view: Any, live_nexus: LiveNexus) -> None:
    page = open_view("/settings#opencode")
    page.get_by_role("button", name="Add variable").click()
    page.get_by_label("Name 1").fill("API_TOKEN")
    page.get_by_label("Value 1").fill("x")
    page.get_by_role("button", name="Save OpenCode settings").click()
    # server.env is a security setting: the owner confirms the password first.
    from tests.auth_helpers import PASSWORD

    dialog = page.get_by_role("dialog", name="Confirm your password")
    dialog.get_by_label("Password").fill(PASSWORD)
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator("#set-server-env-error")).to_contain_text("looks like a secret")
    page.get_by_label("Name 1").fill("NODE_OPTIONS")
    page.get_by_role("button", name="Save OpenCode settings").click()
    expect(page.locator("#set-server-env-error")).to_contain_text("NODE_OPTIONS is refused")
    page.get_by_label("Name 1").fill("RUST_LOG")
    page.get_by_role("button", name="Save OpenCode settings").click()
    expect(page.locator("#section-opencode .save-status")).to_contain_text("Saved")
    assert live_nexus.runtime.settings["server.env"] == {"RUST_LOG": "x"}


def background(page: Page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_theme_setting_recolours_every_page(open_view: Any, live_nexus: LiveNexus) -> None:
    page = open_view("/settings", "desktop-light")
    expect(page.locator("#set-general-theme")).to_have_value("system")
    assert background(page) == LIGHT_BG
    page.locator("#set-general-theme").select_option("dark")
    page.get_by_role("button", name="Save general settings").click()
    expect(page.locator("#section-general .save-status")).to_contain_text("Saved")
    assert background(page) == DARK_BG  # at once, without a reload
    page.goto("/sessions")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert background(page) == DARK_BG

    system_dark = open_view("/analytics", "desktop-dark")
    assert background(system_dark) == DARK_BG
    live_nexus.runtime.settings.update({"general.theme": "light"})
    system_dark.goto("/sessions")
    assert background(system_dark) == LIGHT_BG  # the setting wins over the system's dark


def test_instance_name_shows_in_the_top_bar(open_view: Any, live_nexus: LiveNexus) -> None:
    page = open_view("/settings")
    page.locator("#set-general-instance_name").fill("Workbench")
    page.get_by_role("button", name="Save general settings").click()
    expect(page.locator(".brand span")).to_have_text("Workbench")
    page.locator("#set-general-instance_name").fill("   ")
    page.get_by_role("button", name="Save general settings").click()
    expect(page.locator("#set-general-instance_name-error")).to_have_text("must be 1 to 60 characters")


# ----- navigation and shortcuts ----------------------------------------------------------------

def test_navigation_marks_the_page_and_opens_on_phones(open_view: Any, live_nexus: LiveNexus) -> None:
    live_nexus.runtime.chat.repo.create_session({"id": "n1", "engine": "opencode", "engine_ref": "ref-n1",
                                                 "title": "Navigated"})
    page = open_view("/settings", "phone-light")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Settings")).to_have_attribute("aria-current", "page")
    page.screenshot(path=SCREENSHOTS / "nav-phone-open.png")
    nav.get_by_role("link", name="Analytics").click()
    expect(page).to_have_url(f"{page.url.split('/analytics')[0]}/analytics")
    expect(page.locator("#mainnav a[aria-current=page]")).to_have_text("Analytics")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()  # closed again on the new page
    desktop = open_view("/s/n1", "desktop-light")
    expect(desktop.get_by_role("button", name="Menu")).to_be_hidden()
    expect(desktop.get_by_role("link", name="Chat")).to_have_attribute("aria-current", "page")


def test_shortcut_help_overlay_and_focus_input(open_view: Any, live_nexus: LiveNexus) -> None:
    repo = live_nexus.runtime.chat.repo
    for sid in ("k1", "k2"):
        repo.create_session({"id": sid, "engine": "opencode", "engine_ref": f"ref-{sid}", "title": f"Card {sid}"})
    page = open_view("/")
    expect(page.locator("article.session")).to_have_count(2)
    page.locator("body").press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Focus the message box")
    close = help_dialog.get_by_role("button", name="Close")
    expect(close).to_be_focused()
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('shortcuts-help').contains(document.activeElement)"), \
        "focus left the dialog"
    page.screenshot(path=SCREENSHOTS / "shortcuts-help.png")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    page.locator("body").press("/")
    first_input = page.locator("article.session").nth(0).locator(".composer-input")
    expect(first_input).to_be_focused()
    page.keyboard.type("?]")  # typing: no shortcut fires
    expect(first_input).to_have_value("?]")
    expect(help_dialog).to_be_hidden()
    page.keyboard.press("Alt+2")
    expect(page.locator("article.session").nth(1).locator(".composer-input")).to_be_focused()
    page.locator("article.session").nth(1).locator(".transcript").focus()  # in card 2, not typing
    page.keyboard.press("[")
    expect(first_input).to_be_focused()
    page.locator("article.session").nth(0).locator(".transcript").focus()
    page.keyboard.press("]")
    expect(page.locator("article.session").nth(1).locator(".composer-input")).to_be_focused()


# ----- every page: axe, phone width, screenshots -----------------------------------------------

@pytest.mark.parametrize("path", ["/analytics", "/sessions", "/settings"])
def test_pages_pass_axe_fit_phones_and_are_photographed(open_view: Any, known: LiveNexus, path: str) -> None:
    name = path.strip("/")
    for view in VIEWS:
        page = open_view(path, view, timezone_id="Europe/Berlin")
        if path == "/analytics":
            show_berlin_days(page)
            page.locator("#sessions-chart summary").click()
        elif path == "/sessions":
            expect(page.locator("#result-count")).to_have_text("4 sessions")
        else:
            expect(page.locator("#section-general")).to_be_visible()
        assert not axe_serious(page, f"{name}-{view}")
        if view.startswith("phone"):
            no_horizontal_scroll(page)
        page.screenshot(path=SCREENSHOTS / f"{name}-{view}.png", full_page=True)
