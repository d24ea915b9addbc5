"""`nexus` / `app.py`: the desktop window over the local UI.

The GUI toolkit owns the main thread (pywebview requires it); the web server, OpenCode's
supervisor, the tunnel and the samplers run in their own threads (Host). The window signs
itself in with a one-time token and keeps its cookies in the data dir, so the owner stays
signed in between launches. Attachments use the webview's own native file dialog
(`<input type=file>`). Closing the window quits cleanly, or, with
`desktop.close_action = background`, hides it and leaves Nexus running for the phone; the
next launch of Nexus shows the same window again (un-hidden, raised, focused).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from nexus import __version__
from nexus.desktop.attention import AttentionTracker, window_title
from nexus.desktop.geometry import Geometry, GeometryStore
from nexus.desktop.notify import Notifier
from nexus.host.handover import hand_over
from nexus.host.host import Host
from nexus.host.instance_lock import AlreadyRunning

log = logging.getLogger(__name__)

ICON = Path(__file__).resolve().parent.parent / "ui" / "static" / "img" / "icon-256.png"


class MissingBackend(RuntimeError):
    pass


def load_webview():
    """pywebview with a backend that can run here, or MissingBackend saying what to install."""
    if sys.platform.startswith("linux") and os.geteuid() == 0:
        # Chromium's sandbox refuses to run as root (CI, containers); a normal user keeps it.
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise MissingBackend("no display (DISPLAY / WAYLAND_DISPLAY is not set)")
    try:
        import webview
    except ImportError as exc:
        raise MissingBackend("the desktop window needs pywebview: pip install 'nexus-desktop[qt]' "
                             f"(Linux) or 'pywebview' (Windows, macOS) ({exc})") from exc
    if sys.platform.startswith("linux"):
        try:
            import qtpy  # noqa: F401  pywebview's Qt backend goes through qtpy
            from PyQt6 import QtWebEngineWidgets  # noqa: F401
        except ImportError as exc:
            raise MissingBackend(f"the desktop window needs Qt on Linux: pip install 'nexus-desktop[qt]' ({exc}); "
                                 "`nexus doctor` lists missing system libraries") from exc
    return webview


class DesktopShell:
    """The window and what reacts to it: title, notifications, geometry, hand-over."""

    def __init__(self, webview, host: Host) -> None:
        self.webview = webview
        self.host = host
        rt = host.runtime
        self.geometry_store = GeometryStore(_settings_repo(rt))
        self.geometry = self.geometry_store.load()
        self.notifier = Notifier(str(ICON))
        self.window: Any = None  # pywebview's Window (the library ships no types)
        self.window_open = False
        self.hidden = False
        self.quit_requested = threading.Event()
        self._first_load = True

    def open_window(self) -> None:
        token = self.host.runtime.auth.issue_desktop_token()
        g = self.geometry
        self.window = self.webview.create_window(
            window_title(0), url=f"{self.host.url}/auth/desktop?token={quote(token)}&next=/",
            width=g.width, height=g.height, x=g.x, y=g.y, min_size=(360, 480),
            text_select=True, background_color="#f6f8fa")
        events = self.window.events
        events.loaded += self._loaded
        events.closing += self._closing
        events.closed += self._closed
        events.minimized += lambda: self._set_hidden(True)
        events.restored += lambda: self._set_hidden(False)
        events.shown += lambda: self._set_hidden(False)
        events.resized += self._resized
        events.moved += self._moved
        self.window_open = True
        assert self.host.control is not None, "the host is open"
        self.host.control.show_window = self.show
        AttentionTracker(self.host.runtime.bus, self._attention_changed)

    def run(self) -> None:
        """Blocks in the GUI loop until the window is closed (or a signal asks to quit)."""
        self.notifier.start()
        storage = self.host.paths.root / "webview"
        storage.mkdir(mode=0o700, exist_ok=True)
        # Links the chat opens in a new tab (target=_blank) go to the system browser: pywebview's
        # OPEN_EXTERNAL_LINKS_IN_BROWSER, on by default. (No js_api bridge: its injected code needs
        # 'unsafe-eval', which Nexus's Content-Security-Policy rightly refuses.)
        self.webview.settings["OPEN_EXTERNAL_LINKS_IN_BROWSER"] = True
        gui = "qt" if sys.platform.startswith("linux") else None  # GTK would need PyGObject and WebKitGTK
        if gui == "qt":
            _keep_qt_profile_in(storage)
        self.webview.start(self._started, gui=gui, private_mode=False, storage_path=str(storage), icon=str(ICON))
        self.window_open = False
        self.geometry_store.save(self.geometry)

    def show(self) -> bool:
        """Bring the window back for a second launch (from a request thread): un-hide it, then
        un-minimise, raise and focus it. False when there is none to show (it is closing
        because Nexus quits): the launcher then opens a browser."""
        if not self.window_open or self.window is None or self.quit_requested.is_set():
            return False
        self.window.show()
        self.window.restore()  # un-minimises, raises and focuses
        print("nexus: the window was shown again", flush=True)
        return True

    def close(self) -> None:
        """From any thread: close the window as the user would (the GUI loop then returns)."""
        self.quit_requested.set()
        if self.window_open and self.window is not None:
            self.window.destroy()

    # ----- window events (pywebview calls these in its own threads) ---------------------------
    def _started(self) -> None:
        self.host.start_services()

    def _loaded(self) -> None:
        path = urlsplit(self.window.get_current_url() or "").path
        if self._first_load and not path.startswith("/auth/"):
            self._first_load = False
            print(f"nexus: window showing {path}", flush=True)  # tests and users see the window is up

    def _closing(self) -> bool:
        """The user closes the window. Returning False keeps it: with `close_action =
        background` it is only hidden, so Nexus keeps serving and the next launch shows it."""
        if not self.quit_requested.is_set() and self.host.runtime.settings["desktop.close_action"] == "background":
            self.window.hide()
            self.hidden = True
            print(f"nexus: the window is closed; Nexus keeps running in the background at {self.host.url} "
                  "(launch Nexus again to show it, Ctrl+C or SIGTERM stops it)", flush=True)
            return False
        self.window_open = False  # Nexus quits: a hand-over from now on opens a browser
        return True

    def _closed(self) -> None:
        self.window_open = False

    def _set_hidden(self, hidden: bool) -> None:
        self.hidden = hidden

    def _resized(self, width: int, height: int) -> None:
        g = self.geometry
        self.geometry = Geometry(int(width), int(height), g.x, g.y)

    def _moved(self, x: int, y: int) -> None:
        g = self.geometry
        self.geometry = Geometry(g.width, g.height, int(x), int(y))

    def _attention_changed(self, count: int, newly_waiting: str | None) -> None:
        if self.window_open and self.window is not None:
            self.window.set_title(window_title(count))
        if newly_waiting and (self.hidden or not self.window_open) and self.host.runtime.settings["desktop.notifications"]:
            self.notifier.notify("Nexus: a session needs you", "The agent is asking for permission. Open Nexus to answer.")


def _keep_qt_profile_in(storage: Path) -> None:
    """pywebview gives its Qt profile our storage path but leaves the HTTP cache (and the
    profile's empty default folder) under ~/.cache/<program>/: a test or a second data dir
    would share them. Make the profile it creates keep everything in the data dir."""
    from qtpy.QtCore import QCoreApplication
    from webview.platforms import qt as qt_backend

    QCoreApplication.setApplicationName("Nexus")  # Qt's own small caches: ~/.cache/Nexus, not ~/.cache/python3
    make_profile = qt_backend.QWebEngineProfile
    if getattr(make_profile, "nexus_storage", None) is not None:
        return

    def profile_in_data_dir(*args):
        profile = make_profile(*args)
        profile.setPersistentStoragePath(str(storage))
        profile.setCachePath(str(storage / "cache"))
        return profile

    # A marker on the stand-in itself, so a second call sees it is installed already.
    profile_in_data_dir.nexus_storage = storage  # type: ignore[attr-defined]
    qt_backend.QWebEngineProfile = profile_in_data_dir


def _settings_repo(rt):
    from nexus.settings_repository import SettingsRepository

    return SettingsRepository(rt.db)


def _on_quit_signal(action) -> tuple[socket.socket, socket.socket]:
    """SIGINT/SIGTERM while the GUI loop runs: Python runs signal handlers only between
    bytecodes of the main thread, which sits in Qt's C++ loop. The wake-up fd is written by
    the C-level handler at once; a small thread reads it and closes the window."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)  # handled by the thread below; keeps the default from killing us

    def watch() -> None:
        try:
            while True:
                data = reader.recv(16)
                if not data:
                    return  # closed at shutdown
                if any(b in (signal.SIGINT, signal.SIGTERM) for b in data):
                    break
        except OSError:
            return
        action()

    threading.Thread(target=watch, name="nexus-signals", daemon=True).start()
    return reader, writer


def run_desktop(data_dir: str | None, port: int) -> int:
    from nexus.host.headless import serve
    from nexus.paths import resolve_data_dir
    from nexus.store import StoreError
    from nexus.store.space import unusable_data_dir
    from nexus.ui.http_server import PortInUse

    try:
        host = Host(data_dir, port=port)
    except OSError as exc:  # a read-only data folder or a full disk: said, not a traceback
        print(f"nexus: {unusable_data_dir(data_dir or resolve_data_dir(None), exc)}", file=sys.stderr)
        return 2
    # Hand over before loading a GUI toolkit: a second launch should be quick.
    running = host.lock.read()
    if running is not None:
        info = host.lock.wait_for_url() or running
        print(f"nexus: {hand_over(info, open_browser=True)}", flush=True)
        return 0
    try:
        webview = load_webview()
    except MissingBackend as exc:
        print(f"nexus: {exc}. Running headless, like `nexus serve`.", file=sys.stderr, flush=True)
        return serve("127.0.0.1", port, data_dir)
    try:
        host.open()
    except AlreadyRunning as exc:  # lost a race with another launch
        print(f"nexus: {hand_over(host.lock.wait_for_url() or exc.info, open_browser=True)}", flush=True)
        return 0
    except (StoreError, PortInUse) as exc:
        print(f"nexus: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"nexus: {unusable_data_dir(host.paths.root, exc)}", file=sys.stderr)
        return 2

    shell = DesktopShell(webview, host)
    wakeup = _on_quit_signal(shell.close)
    print(f"Nexus {__version__} is running at {host.url}  (data: {host.paths.root}; window opening)", flush=True)
    try:
        shell.open_window()
        shell.run()  # returns when the window really closes: Nexus quits
    finally:
        print("nexus: shutting down", file=sys.stderr, flush=True)
        shell.notifier.stop()
        host.stop()
        signal.set_wakeup_fd(-1)
        for end in wakeup:
            end.close()
        from nexus.logs import shutdown_logging

        shutdown_logging()
    return 0
