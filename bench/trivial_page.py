"""The comparison for the pages' paint figures: bench/flask_hello.py's "Hello, World!" (Flask on
Werkzeug, as Nexus serves) and its first contentful paint in the same browser, interleaved with
the page measured (bench/long_session.py, bench/page_weight.py, bench/lighthouse.py)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


@contextlib.contextmanager
def popen_printing_url(cmd: list[str], env: dict[str, str], log: Path, pattern: str) -> Iterator[str]:
    """Start `cmd`, wait for a line matching `pattern` (its group 1 is returned), stop it by PID."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            match = re.search(pattern, log.read_text(errors="replace"))
            if match:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[:4]} did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def flask_hello(scratch: Path, headers: dict[str, str] | None = None) -> contextlib.AbstractContextManager[str]:
    extra = ["--headers", json.dumps(headers)] if headers else []
    return popen_printing_url([sys.executable, str(BENCH / "flask_hello.py"), "--port", "0", *extra], dict(os.environ),
                              scratch / f"flask{'-headers' if headers else ''}.log", r"running at (http://\S+)")


@contextlib.contextmanager
def trivial_page(nexus_headers: bool = False) -> Iterator[str]:
    """bench/flask_hello.py running on a free port; yields its URL. With `nexus_headers`, its
    responses carry Nexus's security headers: Cross-Origin-Opener-Policy alone makes Chromium
    move a page opened from a blank tab to a new renderer process, ~20-30 ms of its first paint."""
    headers = None
    if nexus_headers:
        sys.path.insert(0, str(ROOT))
        from nexus.ui.security import SECURITY_HEADERS

        headers = dict(SECURITY_HEADERS)
    with tempfile.TemporaryDirectory(prefix="nexus-bench-hello-") as scratch, flask_hello(Path(scratch), headers) as url:
        yield url


def first_paint(browser, url: str) -> float:
    """The first contentful paint of `url` in a fresh context, ms from navigation start."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.goto(url)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null")
            if fcp is not None:
                return float(fcp)
            page.wait_for_timeout(20)
        raise SystemExit(f"no first contentful paint on {url}")
    finally:
        context.close()
