"""The desktop shell's plain-Python parts: waiting-session count and title, remembered
geometry, notifications' commands, and the hand-over endpoint a second launch calls."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from nexus.bus import EventBus
from nexus.desktop.attention import AttentionTracker, window_title
from nexus.desktop.geometry import GEOMETRY_KEY, Geometry, GeometryStore
from nexus.desktop.notify import notification_command
from nexus.host.host import InstanceControl
from nexus.host.instance_lock import TOKEN_HEADER
from nexus.settings_repository import SettingsRepository


def test_title_counts_sessions_waiting_and_notifies_only_new_ones() -> None:
    bus = EventBus()
    changes: list[tuple[int, str | None]] = []
    tracker = AttentionTracker(bus, lambda count, new: changes.append((count, new)))
    bus.publish("chat.session", session_id="a", type="session.status", seq=1, status="busy")
    bus.publish("chat.session", session_id="a", type="permission.asked", seq=2, status="waiting")
    bus.publish("chat.session", session_id="a", type="session.status", seq=3, status="waiting")  # no change
    bus.publish("chat.session", session_id="b", type="permission.asked", seq=1, status="waiting")
    bus.publish("chat.session", session_id="a", type="session.status", seq=4, status="busy")
    assert changes == [(1, "a"), (2, "b"), (1, None)]
    assert tracker.count == 1
    assert window_title(0) == "Nexus"
    assert window_title(1) == "Nexus — 1 session needs you"
    assert window_title(3) == "Nexus — 3 sessions need you"


def test_geometry_is_remembered_and_bad_rows_fall_back(runtime) -> None:
    repo = SettingsRepository(runtime.db)
    store = GeometryStore(repo)
    assert store.load() == Geometry()
    store.save(Geometry(900, 700, 40, 60))
    assert GeometryStore(SettingsRepository(runtime.db)).load() == Geometry(900, 700, 40, 60)
    assert GEOMETRY_KEY not in runtime.settings.all(), "not a user setting"
    repo.save({GEOMETRY_KEY: {"width": 10, "height": 10, "x": 99999, "y": 5}})
    assert store.load() == Geometry(360, 480, None, None), "too small is clamped, off-screen is recentred"
    repo.save({GEOMETRY_KEY: "garbage"})
    assert store.load() == Geometry()


def test_notification_command_quotes_safely() -> None:
    command = notification_command('say "hi"', "body; rm -rf /", icon="/x.png")
    if sys.platform == "darwin":
        assert command[-1].count('\\"') == 2
    elif command is not None:  # Linux with notify-send: arguments, never a shell line
        assert command[-3:] == ["--", 'say "hi"', "body; rm -rf /"]


def _app_with_instance(app, show_window):
    control = InstanceControl("the-instance-token", show_window)
    app.extensions["nexus.instance"] = control
    return control


def test_focus_shows_the_window_for_the_right_token_only(app) -> None:
    shown = []
    _app_with_instance(app, lambda: shown.append(1) or True)
    client = app.test_client()
    assert client.post("/api/desktop/focus").status_code == 403
    res = client.post("/api/desktop/focus", headers={TOKEN_HEADER: "wrong"})
    assert res.status_code == 403 and res.json["error"]["code"] == "bad_instance_token"
    assert shown == []
    res = client.post("/api/desktop/focus", headers={TOKEN_HEADER: "the-instance-token"})
    assert res.status_code == 200 and res.json == {"window": True} and shown == [1]
    # Through the tunnel the token is worthless: this is for the launcher on this computer.
    res = client.post("/api/desktop/focus", headers={TOKEN_HEADER: "the-instance-token", "Cf-Connecting-Ip": "1.2.3.4"})
    assert res.status_code in (401, 403, 421) and shown == [1]


def test_focus_without_a_window_gives_a_one_time_signin_link(app, runtime) -> None:
    from tests.auth_helpers import make_owner

    make_owner(runtime)  # sign-in is required locally now
    _app_with_instance(app, lambda: False)
    client = app.test_client()
    res = client.post("/api/desktop/focus", headers={TOKEN_HEADER: "the-instance-token"})
    assert res.status_code == 200 and res.json["window"] is False
    link = urlsplit(res.json["signin_url"])
    assert link.path == "/auth/desktop"
    browser = app.test_client()
    assert browser.get("/api/sessions").status_code == 401
    res = browser.get(f"{link.path}?{link.query}")
    assert res.status_code == 303 and res.headers["Location"] == "/"
    assert browser.get("/api/sessions").status_code == 200, "the link signed the browser in"
    assert app.test_client().get(f"{link.path}?{link.query}").status_code in (401, 403), "it works once"


def test_focus_needs_an_instance(app) -> None:
    res = app.test_client().post("/api/desktop/focus", headers={TOKEN_HEADER: "x"})
    assert res.status_code == 404 and res.json["error"]["code"] == "no_instance"


def test_doctor_names_the_desktop_backend(runtime) -> None:
    from nexus.doctor import run_checks
    from nexus.webview_check import debian_package_guess

    check = next(c for c in run_checks(runtime.settings, runtime.paths) if c.name == "Desktop window")
    assert check.required is False, "Nexus runs headless without it"
    if sys.platform.startswith("linux"):
        # This test environment has the qt extra and the system libraries (scripts/test.sh).
        assert check.ok and "Qt (QtWebEngine)" in check.detail, check
    assert debian_package_guess("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert debian_package_guess("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"


def test_headless_paths_load_no_gui_toolkit() -> None:
    # `nexus serve` takes the instance lock and answers hand-overs through these modules; its
    # start-up time is benchmarked, so none of them may pull in pywebview or Qt, nor the
    # anthropic SDK (most of a second to import; loaded when the engine is first used).
    import subprocess

    code = ("import sys, nexus.cli, nexus.host.host, nexus.host.handover, nexus.ui.api_desktop, nexus.doctor;"
            "from nexus.ui import create_app; import nexus.desktop.attention, nexus.desktop.geometry, nexus.runtime;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('webview', 'PyQt6', 'qtpy', 'anthropic')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
