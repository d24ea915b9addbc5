"""Real-browser fixtures: Debian's Chromium driven by Playwright, offline, and a real Nexus.

Never run `playwright install`: these tests use the system Chromium
(`apt-get install -y chromium fonts-dejavu-core fonts-liberation`) through
`executable_path`, the only hook Playwright has for it (see
/work/shared/recipes/browser-tests.md). Set CHROMIUM_PATH to use another build.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from nexus.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"
HERE = Path(__file__).resolve().parent


def find_chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/lib/chromium/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise pytest.UsageError("No Chromium found: apt-get install -y chromium fonts-dejavu-core fonts-liberation, "
                            "or set CHROMIUM_PATH. Do not run `playwright install`.")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder drives a browser: mark it `browser` (select with -m browser)."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return {
        **browser_type_launch_args,  # keeps --headed / --slowmo
        "executable_path": find_chromium(),
        "env": {**os.environ,  # keeps ~/.config/chromium and ~/.cache clean
                "XDG_CONFIG_HOME": str(tmp_path_factory.mktemp("xdg-config")),
                "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("xdg-cache"))},
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-sync", "--disable-extensions",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update"],
    }


@pytest.fixture
def screenshot_dir() -> Path:
    """test-results/screenshots/. Made per test: pytest-playwright's autouse `delete_output_dir`
    wipes its --output folder (default test-results/) at the start of every pytest session,
    including sessions running in parallel in the same checkout."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@dataclass
class LiveNexus:
    url: str
    runtime: Runtime
    server: Any


@pytest.fixture
def live_nexus(make_runtime: Callable[..., Runtime], serve_runtime: Callable[..., Any]) -> LiveNexus:
    """A real Nexus (runtime, services, threaded web server on a free loopback port); OpenCode not started."""
    rt = make_runtime({"server.autostart": False})
    server = serve_runtime(rt)
    rt.start(web_url=server.url)  # the tunnel forwards here
    return LiveNexus(server.url, rt, server)


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """new_page(base_url, init_script=None, **context_options) -> a page in a fresh browser
    context; every context opened is closed after the test."""
    contexts: list[Any] = []

    def _new(base_url: str, init_script: str | None = None, **options: Any) -> Any:
        context = browser.new_context(base_url=base_url, **options)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        return context.new_page()

    yield _new
    for context in contexts:
        context.close()


@pytest.fixture
def fresh(nexus: Any) -> Any:
    """The module's own Nexus (its `nexus` fixture, a ChatNexus) with no active session:
    whatever an earlier test of the module left open is archived."""
    chat = nexus.runtime.chat
    sessions, _ = chat.list("active", limit=200)
    for s in sessions:
        chat.archive(s["id"])
    return nexus
