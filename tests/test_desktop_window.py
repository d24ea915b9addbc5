"""The real desktop app under Xvfb: the window loads the UI signed in, a second launch
brings it to the front instead of starting a second supervisor, and closing the window
stops OpenCode and leaves nothing behind."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Iterator

import psutil
import pytest

from tests.desktop_helpers import (NEXUS, close_window, image_is_blank, nexus_env, opencode_children, prepare_home,
                                   read_until, start_xvfb, window_title)
from tests.fakes.fake_cloudflared import make_fake_binary

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.opencode, pytest.mark.slow]


@pytest.fixture
def xvfb() -> Iterator[str]:
    yield from start_xvfb()


def test_window_opens_signed_in_second_launch_focuses_it_and_close_quits_cleanly(
        tmp_path: Path, opencode_settings: dict, xvfb: str) -> None:
    home = tmp_path / "home"
    cf_state = tmp_path / "cf-state.json"
    prepare_home(home, {**opencode_settings, "tunnel.mode": "quick",
                        "tunnel.binary": str(make_fake_binary(tmp_path / "bin"))})
    # Qt keeps a few small caches under the user's home: the test's own, not the developer's.
    env = nexus_env(home, DISPLAY=xvfb, FAKE_CF_STATE=str(cf_state), HOME=str(tmp_path / "user"),
                    XDG_CACHE_HOME=str(tmp_path / "user" / ".cache"), XDG_DATA_HOME=str(tmp_path / "user" / "share"))
    proc = subprocess.Popen([*NEXUS, "window", "--port", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    try:
        read_until(proc, "running at", 60, seen)
        # `/`, not `/login`: the window signed itself in with the one-time token.
        read_until(proc, "window showing /", 90, seen)
        assert "window showing /login" not in "".join(seen)
        deadline = time.monotonic() + 60
        while not opencode_children(proc.pid):
            assert time.monotonic() < deadline, "OpenCode started in the background"
            time.sleep(0.3)
        ours = opencode_children(proc.pid)
        while not cf_state.exists():
            assert time.monotonic() < deadline, "the tunnel (fake cloudflared) started in the background"
            time.sleep(0.3)
        cloudflared = json.loads(cf_state.read_text())["pid"]
        assert psutil.pid_exists(cloudflared)
        assert window_title(xvfb) == "Nexus"

        time.sleep(2)  # let the sessions page finish drawing
        shots = ROOT / "test-results" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        png = shots / "desktop-window-xvfb.png"
        subprocess.run(["import", "-display", xvfb, "-window", "root", str(png)], check=True, timeout=30)
        assert png.stat().st_size > 10_000 and not image_is_blank(png)

        second = subprocess.run([*NEXUS, "window"], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "window was brought to the front" in second.stdout
        headless = subprocess.run([*NEXUS, "serve", "--port", "0"], env=env, capture_output=True, text=True,
                                  timeout=60)
        assert headless.returncode == 0 and "already running at http://127.0.0.1:" in headless.stdout
        assert opencode_children(proc.pid) == ours, "OpenCode was not restarted"
        assert "running at" not in second.stdout and "running at http" not in headless.stdout.replace(
            "already running at http", ""), "neither launch started a second Nexus (nor its supervisor)"

        close_window(xvfb)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    seen.append(out)
    assert proc.returncode == 0, "".join(seen)[-4000:]
    assert "shutting down" in out
    for pid in ours:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, \
            "OpenCode stopped with the window"
    assert not psutil.pid_exists(cloudflared) or psutil.Process(cloudflared).status() == psutil.STATUS_ZOMBIE, \
        "cloudflared stopped with the window"
    assert not (home / "nexus.lock").exists(), "the lock is released"
    assert (home / "webview").is_dir(), "cookies and storage persist in the data dir"
    assert not (tmp_path / "user" / ".cache" / "Nexus" / "QtWebEngine").exists(), "the web cache is in the data dir"
    from nexus.desktop.geometry import GEOMETRY_KEY
    from nexus.store.database import Database, sqlite_url
    from nexus.store.repositories import SettingsRepository

    db = Database.open(sqlite_url(home / "nexus.db"))
    try:
        assert GEOMETRY_KEY in SettingsRepository(db).load_raw(), "the window's geometry was saved"
    finally:
        db.close()
