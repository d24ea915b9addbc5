"""Browser fixtures for the sign-in and setup tests: a real Nexus on a free loopback port."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe

from nexus.runtime import Runtime
from tests.browser.viewports import VIEWS

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@dataclass
class Served:
    url: str
    runtime: Runtime


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    from nexus.ui import create_app
    from nexus.ui.http_server import WebServer

    rt = Runtime.open(tmp_path / "data", console_log=False)
    rt.settings.update({"server.autostart": False})
    server = WebServer(create_app(rt), "127.0.0.1", 0).start()
    rt.start(web_url=server.url)
    try:
        yield Served(server.url, rt)
    finally:
        server.stop()
        rt.stop()


def serious_violations(page: Any) -> list[dict]:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]


def no_horizontal_scroll(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
