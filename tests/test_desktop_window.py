"""The real desktop app under Xvfb: the window loads the UI signed in, its title counts the
sessions waiting for an answer, a second launch brings it to the front instead of starting
a second supervisor, and closing the window stops OpenCode and cloudflared and leaves
nothing behind (or, when so set, hides it and leaves Nexus serving in the background, and
the next launch shows the same window again)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import psutil
import pytest

from tests.auth_helpers import OWNER, PASSWORD
from tests.desktop_helpers import (
    NEXUS,
    close_window_until,
    fake_browser,
    finish,
    focused_title,
    image_is_blank,
    kill_if_running,
    launch_window,
    opencode_children,
    prepare_home,
    read_until,
    read_url,
    sigterm,
    start_xvfb,
    wait_for_title,
    wait_until_hidden,
    window_env,
    window_title,
)
from tests.fakes.fake_cloudflared import make_fake_binary

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.opencode, pytest.mark.slow]


def _ask_for_permission(url: str) -> None:
    """Sign in over the API and prompt the fake model to run a shell command (OpenCode asks first)."""
    with httpx2.Client(base_url=url, timeout=15) as client:
        csrf = client.get("/api/auth/session").json()["csrf_token"]
        res = client.post("/api/auth/login", json={"username": OWNER, "password": PASSWORD},
                          headers={"X-CSRF-Token": csrf})
        assert res.status_code == 200, res.text
        headers = {"X-CSRF-Token": res.json()["csrf_token"]}
        deadline = time.monotonic() + 90
        while client.get("/api/server").json()["state"] != "running":
            assert time.monotonic() < deadline, "OpenCode came up"
            time.sleep(0.3)
        session = client.post("/api/sessions", json={"title": "Needs you"}, headers=headers)
        assert session.status_code == 201, session.text
        res = client.post(f"/api/sessions/{session.json()['id']}/prompt", json={"text": "TOOL:echo hi"},
                          headers=headers)
        assert res.status_code == 202, res.text


@pytest.fixture
def xvfb() -> Iterator[str]:
    yield from start_xvfb()


@pytest.mark.timeout(330)  # up to 2 min of clicking close through an X stall (close_window_until)
def test_window_opens_signed_in_second_launch_focuses_it_and_close_quits_cleanly(
        tmp_path: Path, opencode_settings: dict, xvfb: str) -> None:
    home = tmp_path / "home"
    cf_state = tmp_path / "cf-state.json"
    prepare_home(home, {**opencode_settings, "tunnel.mode": "quick",
                        "tunnel.binary": str(make_fake_binary(tmp_path / "bin"))})
    env = window_env(home, tmp_path, xvfb, FAKE_CF_STATE=str(cf_state))
    seen: list[str] = []
    proc = launch_window(env, seen)
    try:
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

        # An agent asks for permission: the title counts the sessions waiting for the user.
        _ask_for_permission(read_url(seen))
        wait_for_title(xvfb, "Nexus — 1 session needs you")

        second = subprocess.run([*NEXUS, "window"], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "window was brought to the front" in second.stdout
        headless = subprocess.run([*NEXUS, "serve", "--port", "0"], env=env, capture_output=True, text=True,
                                  timeout=60)
        assert headless.returncode == 0 and "already running at http://127.0.0.1:" in headless.stdout
        assert opencode_children(proc.pid) == ours, "OpenCode was not restarted"
        assert "running at" not in second.stdout and "running at http" not in headless.stdout.replace(
            "already running at http", ""), "neither launch started a second Nexus (nor its supervisor)"

        close_window_until(proc, xvfb, "shutting down", seen, attempts=8)
        out = finish(proc, 60)
    finally:
        kill_if_running(proc)
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
    from nexus.settings_repository import SettingsRepository
    from nexus.store.database import Database, sqlite_url

    db = Database.open(sqlite_url(home / "nexus.db"))
    try:
        assert GEOMETRY_KEY in SettingsRepository(db).load_raw(), "the window's geometry was saved"
    finally:
        db.close()


def test_close_to_background_keeps_serving_notifies_and_a_relaunch_shows_the_window(
        tmp_path: Path, opencode_settings: dict, xvfb: str) -> None:
    home = tmp_path / "home"
    prepare_home(home, {**opencode_settings, "desktop.close_action": "background"})
    browser, opened = fake_browser(tmp_path)
    notified = tmp_path / "notified.txt"
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "notify-send").write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" >> {notified}\n")
    (tools / "notify-send").chmod(0o755)
    env = window_env(home, tmp_path, xvfb, BROWSER=str(browser), PATH=f"{tools}:{os.environ['PATH']}")
    seen: list[str] = []
    proc = launch_window(env, seen)
    try:
        url = read_url(seen)
        read_until(proc, "window showing /", 90, seen)
        wait_for_title(xvfb, "Nexus")
        close_window_until(proc, xvfb, "keeps running in the background", seen)
        wait_until_hidden(xvfb)
        assert not (focused_title(xvfb) or "").startswith("Nexus"), "a hidden window holds no focus"
        assert proc.poll() is None
        assert httpx2.get(f"{url}/api/auth/session", timeout=5).status_code == 200, \
            "still serving (the phone keeps working)"

        # With the window hidden, a session that needs an answer raises an OS notification.
        _ask_for_permission(url)
        deadline = time.monotonic() + 60
        while not notified.exists():
            assert time.monotonic() < deadline, "a notification went out"
            time.sleep(0.3)
        assert "a session needs you" in notified.read_text()

        # Launching Nexus again shows the same window (its title still counts the waiting
        # session, so it is the running one, not a new one), raised and focused; no browser.
        again = subprocess.run([*NEXUS, "window"], env=env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0 and "window was brought to the front" in again.stdout, \
            again.stdout + again.stderr
        read_until(proc, "the window was shown again", 30, seen)
        wait_for_title(xvfb, "Nexus — 1 session needs you")
        deadline = time.monotonic() + 20
        while focused_title(xvfb) != "Nexus — 1 session needs you":
            assert time.monotonic() < deadline, f"the window has the keyboard focus (focus: {focused_title(xvfb)!r})"
            time.sleep(0.2)
        assert not opened.exists(), "no browser was opened"
        assert "running at" not in again.stdout, "the relaunch started no second Nexus"

        # Closing it again hides it again: the same way every time.
        close_window_until(proc, xvfb, "keeps running in the background", seen)
        wait_until_hidden(xvfb)

        children = opencode_children(proc.pid)
        assert children, "OpenCode kept running in the background"
        out = sigterm(proc)
    finally:
        kill_if_running(proc)
    assert proc.returncode == 0, "".join(seen) + out
    assert "shutting down" in out
    assert not (home / "nexus.lock").exists()
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                   for pid in children)


def test_sigterm_closes_the_window_and_quits_cleanly(tmp_path: Path, xvfb: str) -> None:
    # The GUI loop holds the main thread, where Python runs signal handlers: the wake-up fd
    # path must still close the window and stop everything.
    home = tmp_path / "home"
    prepare_home(home, {"server.autostart": False}, owner=False)
    seen: list[str] = []
    proc = launch_window(window_env(home, tmp_path, xvfb), seen)
    try:
        read_until(proc, "window showing /", 90, seen)
        out = sigterm(proc)
    finally:
        kill_if_running(proc)
    assert proc.returncode == 0 and "shutting down" in out, "".join(seen) + out
    assert "keeps running in the background" not in out
    assert not (home / "nexus.lock").exists()
