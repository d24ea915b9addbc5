"""The logs page in a real Chromium against a real Nexus: live tail, filters, search, pause,
older lines, downloads; axe-core, phone width, and screenshots in every view."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveNexus
from tests.browser.test_server_page import AXE_TAGS, RESULTS, no_horizontal_scroll
from tests.browser.viewports import VIEWS

LIVE_TIMEOUT = 10_000  # ms
log = logging.getLogger("nexus.browser.logs")


def seed(live: LiveNexus, count: int = 40) -> None:
    """Lines of every level and source, appended as the real handler writes them."""
    levels = ("DEBUG", "INFO", "WARNING", "ERROR")
    sources = ("nexus", "opencode", "cloudflared")
    with open(live.runtime.paths.log_file, "a", encoding="utf-8") as fh:
        for i in range(count):
            level, source = levels[i % 4], sources[i % 3]
            message = f"seeded {level.lower()} line {i} from {source}"
            if i == 7:
                message += " with a very long token " + "abcdefghij" * 40 + " that has to wrap"
            fh.write(json.dumps({"ts": 1_763_850_000 + i, "time": "2025-11-22T22:20:00.000Z", "level": level,
                                 "source": source, "logger": f"nexus.{source}", "message": message}) + "\n")


def open_logs(new_page: Any, live: LiveNexus, **options: Any) -> Page:
    page = new_page(live.url, **options)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/logs")
    expect(page.locator("#conn")).to_have_text("Live", timeout=LIVE_TIMEOUT)
    expect(page.locator("#log-count")).not_to_have_text("", timeout=LIVE_TIMEOUT)
    page.errors = errors  # type: ignore[attr-defined]
    return page


def lines(page: Page) -> Any:
    return page.locator("#log-lines li")


def uncheck_levels_except(page: Page, keep: str) -> None:
    for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        if level != keep:
            page.locator(f'#log-levels input[value="{level}"]').uncheck()


def test_a_line_written_after_opening_appears_and_the_view_sticks_to_the_bottom(new_page: Any,
                                                                                 live_nexus: LiveNexus) -> None:
    seed(live_nexus, 120)
    page = open_logs(new_page, live_nexus, viewport={"width": 1280, "height": 800})
    expect(page.locator("#log-lines li", has_text="seeded error line 119")).to_be_visible()
    log.warning("written after the page opened")
    fresh = page.locator("#log-lines li", has_text="written after the page opened")
    expect(fresh).to_be_visible(timeout=LIVE_TIMEOUT)
    expect(fresh).to_have_count(1)
    assert page.locator("#log-view").evaluate("v => v.scrollHeight - v.scrollTop - v.clientHeight < 40")
    # Scrolled up, the view stays where the reader is and offers a way down.
    page.locator("#log-view").evaluate("v => { v.scrollTop = 0; }")
    log.warning("while reading older lines")
    expect(page.locator("#log-lines li", has_text="while reading older lines")).to_have_count(1, timeout=LIVE_TIMEOUT)
    assert page.locator("#log-view").evaluate("v => v.scrollTop") == 0
    expect(page.locator("#log-jump")).to_be_visible()
    page.locator("#log-jump").click()
    assert page.locator("#log-view").evaluate("v => v.scrollHeight - v.scrollTop - v.clientHeight < 40")
    assert not page.errors  # type: ignore[attr-defined]


def test_level_and_source_filters_apply_to_old_and_new_lines(new_page: Any, live_nexus: LiveNexus) -> None:
    seed(live_nexus)
    page = open_logs(new_page, live_nexus)
    uncheck_levels_except(page, "ERROR")
    expect(lines(page).first).to_have_attribute("data-level", "ERROR", timeout=LIVE_TIMEOUT)
    expect(page.locator("#log-lines li[data-level]:not([data-level=ERROR])")).to_have_count(0)
    expect(page.locator("#log-lines li", has_text="seeded error line 39")).to_be_visible()
    expect(page.locator("#conn")).to_have_text("Live", timeout=LIVE_TIMEOUT)
    log.info("an info line that must not show")
    log.error("an error line that must show")
    expect(page.locator("#log-lines li", has_text="an error line that must show")).to_be_visible(timeout=LIVE_TIMEOUT)
    expect(page.locator("#log-lines li", has_text="an info line that must not show")).to_have_count(0)

    page.locator('#log-sources input[value="nexus"]').uncheck()
    page.locator('#log-sources input[value="cloudflared"]').uncheck()
    expect(page.locator("#log-lines li", has_text="seeded error line 31 from opencode")).to_be_visible(
        timeout=LIVE_TIMEOUT)
    expect(page.locator("#log-lines li", has_text="from nexus")).to_have_count(0)
    page.locator('#log-sources input[value="opencode"]').uncheck()
    expect(page.locator("#log-empty")).to_have_text(
        "No lines match: choose at least one level and one source.", timeout=LIVE_TIMEOUT)


def test_search_is_debounced_and_shows_an_empty_state(new_page: Any, live_nexus: LiveNexus) -> None:
    seed(live_nexus)
    page = open_logs(new_page, live_nexus)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/logs?" in r.url else None)
    page.locator("#log-q").press_sequentially("line 3", delay=30)
    expect(page.locator("#log-lines li").first).to_contain_text("line 3", timeout=LIVE_TIMEOUT)
    expect(lines(page)).to_have_count(11)  # line 3 and line 30..39
    assert len(requests) == 1, requests  # one request for six keystrokes
    log.warning("live line 3 matches the search too")
    expect(page.locator("#log-lines li", has_text="live line 3 matches")).to_be_visible(timeout=LIVE_TIMEOUT)
    page.locator("#log-q").fill("nothing in the log says this")
    expect(page.locator("#log-empty")).to_have_text("No lines match these filters.", timeout=LIVE_TIMEOUT)
    expect(lines(page)).to_have_count(0)


def test_pause_holds_new_lines_and_resume_shows_them(new_page: Any, live_nexus: LiveNexus) -> None:
    seed(live_nexus, 5)
    page = open_logs(new_page, live_nexus)
    pause = page.locator("#log-pause")
    pause.click()
    expect(pause).to_have_attribute("aria-pressed", "true")
    for i in range(3):
        log.warning("held line %d", i)
    expect(pause).to_have_text("Resume (3 new)", timeout=LIVE_TIMEOUT)
    expect(page.locator("#log-lines li", has_text="held line")).to_have_count(0)
    pause.click()
    expect(pause).to_have_text("Pause")
    expect(page.locator("#log-lines li", has_text="held line")).to_have_count(3)
    assert lines(page).last.inner_text().endswith("held line 2")


def test_load_older_pages_back(new_page: Any, live_nexus: LiveNexus) -> None:
    live_nexus.runtime.paths.log_file.write_text("")
    seed(live_nexus, 450)
    page = open_logs(new_page, live_nexus)
    expect(lines(page)).to_have_count(200)
    expect(lines(page).first).to_contain_text("line 250 ")
    page.get_by_role("button", name="Load older").click()
    expect(lines(page)).to_have_count(400)
    expect(lines(page).first).to_contain_text("line 50 ")
    page.get_by_role("button", name="Load older").click()
    expect(lines(page)).to_have_count(450)
    expect(page.get_by_role("button", name="Load older")).to_be_hidden()


def test_download_view_returns_the_filtered_lines(new_page: Any, live_nexus: LiveNexus, tmp_path: Path) -> None:
    seed(live_nexus)
    page = open_logs(new_page, live_nexus, accept_downloads=True)
    uncheck_levels_except(page, "WARNING")
    expect(page.locator("#log-lines li[data-level]:not([data-level=WARNING])")).to_have_count(0, timeout=LIVE_TIMEOUT)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download view").click()
    download = info.value
    assert download.suggested_filename.startswith("nexus-log-view-") and download.suggested_filename.endswith(".jsonl")
    target = tmp_path / "view.jsonl"
    download.save_as(target)
    rows = [json.loads(r) for r in target.read_text().splitlines()]
    assert rows and {r["level"] for r in rows} == {"WARNING"}
    assert [r["message"] for r in rows if r["message"].startswith("seeded")] == [
        f"seeded warning line {i} from {('nexus', 'opencode', 'cloudflared')[i % 3]}" for i in range(2, 40, 4)]
    with page.expect_download() as info:
        page.get_by_role("link", name="Download all").click()
    assert info.value.suggested_filename.startswith("nexus-log-2")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violations(new_page: Any, live_nexus: LiveNexus, scheme: str) -> None:
    seed(live_nexus)
    log.error("an error with a traceback", exc_info=ValueError("example failure"))
    page = open_logs(new_page, live_nexus, color_scheme=scheme)
    expect(page.locator("#log-lines li", has_text="an error with a traceback")).to_be_visible()
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    assert results.response.get("testEngine", {}).get("name") == "axe-core", "axe did not run"
    violations = results.response["violations"]
    report = RESULTS / f"axe-logs-{scheme}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(violations, indent=2))
    serious = [v for v in violations if v.get("impact") in ("serious", "critical")]
    assert not serious, results.generate_report()


@pytest.mark.parametrize("name", list(VIEWS))
def test_every_view_fits_and_is_screenshotted(new_page: Any, live_nexus: LiveNexus, screenshot_dir: Path,
                                              name: str) -> None:
    seed(live_nexus)
    log.error("an error with a traceback", exc_info=ValueError("example failure"))
    page = open_logs(new_page, live_nexus, **VIEWS[name])
    expect(page.locator("#log-lines li", has_text="an error with a traceback")).to_be_visible()
    no_horizontal_scroll(page)
    page.screenshot(path=screenshot_dir / f"logs-{name}.png", full_page=True)
    page.locator("#log-pause").click()
    log.warning("held while paused")
    expect(page.locator("#log-pause")).to_have_text("Resume (1 new)", timeout=LIVE_TIMEOUT)
    page.locator("#log-q").fill("nothing in the log says this")
    expect(page.locator("#log-empty")).to_be_visible(timeout=LIVE_TIMEOUT)
    no_horizontal_scroll(page)
    page.screenshot(path=screenshot_dir / f"logs-{name}-empty.png")
