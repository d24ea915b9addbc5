"""Helpers for the desktop tests: a Nexus data dir prepared like a real install, a private
Xvfb display, and closing a window the way a user's click on its close button does."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.wait_helpers import wait_until

NEXUS = [sys.executable, "-m", "nexus"]


def nexus_env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "NEXUS_HOME": str(home), "PYTHONUNBUFFERED": "1", **extra}


def window_env(home: Path, tmp_path: Path, display: str, **extra: str) -> dict[str, str]:
    """For a desktop launch on `display`. Qt keeps a few small caches under the user's home:
    the test's own, not the developer's."""
    user = tmp_path / "user"
    return nexus_env(home, DISPLAY=display, HOME=str(user), XDG_CACHE_HOME=str(user / ".cache"),
                     XDG_DATA_HOME=str(user / "share"), **extra)


def launch_window(env: dict[str, str], seen: list[str]) -> subprocess.Popen[str]:
    """`nexus window` on a free port, returned once it says where it runs."""
    proc = subprocess.Popen([*NEXUS, "window", "--port", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    read_until(proc, "running at", 60, seen)
    return proc


def sigterm(proc: subprocess.Popen[str]) -> str:
    """Stop a launched Nexus as the system would at logout; returns the rest of its output."""
    proc.send_signal(signal.SIGTERM)
    return finish(proc, 60)


def finish(proc: subprocess.Popen[str], timeout: float) -> str:
    """Wait for a launched process to exit; returns the output not read yet."""
    proc.wait(timeout=timeout)
    lines, reader = _output(proc)
    reader.join(timeout=10)
    rest = []
    while True:
        try:
            line = lines.get_nowait()
        except queue.Empty:
            break
        if line is None:
            break
        rest.append(line)
    return "".join(rest)


def kill_if_running(proc: subprocess.Popen[str]) -> None:
    """After a failed test: nothing may outlive it. SIGTERM first, so Nexus stops its own
    OpenCode; a bare SIGKILL would leave that child running."""
    if proc.poll() is not None:
        return
    children = opencode_children(proc.pid)
    proc.terminate()
    try:
        finish(proc, 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        finish(proc, 30)
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def read_url(seen: list[str]) -> str:
    line = next(line for line in seen if "running at" in line)
    return line.split("running at ")[1].split()[0]


def fake_browser(folder: Path) -> tuple[Path, Path]:
    """A BROWSER for Python's webbrowser module that only writes down the URL it was given."""
    opened, script = folder / "opened.txt", folder / "fake-browser"
    script.write_text(f"#!/bin/sh\nprintf '%s' \"$1\" > {opened}\n")
    script.chmod(0o755)
    return script, opened


def prepare_home(home: Path, settings: dict, *, owner: bool = True) -> None:
    """Setup finished and, with `owner`, an owner password (so a window that shows `/` has
    signed itself in), plus the given settings. Without `owner` the install is a finished test
    install (tests/runtime_helpers.py): its owner turned local sign-in off."""
    from tests.auth_helpers import make_owner
    from tests.runtime_helpers import open_runtime

    rt = open_runtime(home)
    try:
        if owner:
            make_owner(rt)
        rt.settings.update(settings)
    finally:
        rt.stop()


def opencode_children(pid: int) -> set[int]:
    """OpenCode processes started (directly or not) by process `pid`."""
    import psutil

    found = set()
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return found
    for child in children:
        try:
            if any("opencode" in part for part in child.cmdline()[:2]):
                found.add(child.pid)
        except psutil.Error:
            pass
    return found


_readers: dict[int, tuple[queue.Queue[str | None], threading.Thread]] = {}


def _output(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str | None], threading.Thread]:
    """The process's output lines, read on a thread: waiting for a line then has a deadline
    (a bare readline() would block past any timeout if the process goes quiet)."""
    if proc.pid not in _readers:
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, name=f"output-of-{proc.pid}", daemon=True)
        reader.start()
        _readers[proc.pid] = (lines, reader)
    return _readers[proc.pid]


def read_until(proc: subprocess.Popen[str], needle: str, timeout: float, seen: list[str]) -> str:
    lines, _ = _output(proc)
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            lines.put(None)  # the end stays visible to later readers
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} did not appear within {timeout:.0f} s; output:\n{''.join(seen)[-4000:]}")


def start_xvfb() -> Iterator[str]:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.fail("Xvfb is missing: the desktop window tests need it (apt-get install xvfb; scripts/test.sh "
                    "installs it when run as root).")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x860x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        assert number, "Xvfb did not report its display"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


def find_window(display_name: str, title_prefix: str, timeout: float = 20.0):
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display_name)

    def shown() -> Any:
        stack = [d.screen().root]
        while stack:
            win = stack.pop()
            try:
                name = _title(d, win)
                # Qt also names its hidden client-leader window after the app: only a mapped
                # (visible) window is the one the user sees.
                if isinstance(name, str) and name.startswith(title_prefix) \
                        and win.get_attributes().map_state == X.IsViewable:
                    return win
                stack.extend(win.query_tree().children)
            except Exception:  # a window vanished while we walked the tree
                continue
        return None

    try:
        return d, wait_until(shown, timeout, f"a window titled {title_prefix!r} on {display_name}", interval=0.2)
    except AssertionError:
        d.close()
        raise


def wait_until_hidden(display_name: str, title_prefix: str = "Nexus", timeout: float = 20.0) -> None:
    """Until no window titled `title_prefix` is viewable (it was hidden or closed)."""
    from Xlib import X
    from Xlib import display as xdisplay

    d = xdisplay.Display(display_name)
    deadline = time.monotonic() + timeout
    try:
        while True:
            viewable = []
            stack = [d.screen().root]
            while stack:
                win = stack.pop()
                try:
                    name = _title(d, win)
                    if isinstance(name, str) and name.startswith(title_prefix) \
                            and win.get_attributes().map_state == X.IsViewable:
                        viewable.append(name)
                    stack.extend(win.query_tree().children)
                except Exception:  # a window vanished while we walked the tree
                    continue
            if not viewable:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the window {viewable[0]!r} stayed on screen")
            time.sleep(0.2)
    finally:
        d.close()


def focused_title(display_name: str) -> str | None:
    """The title of the top-level window holding the keyboard focus (or one of its parents)."""
    from Xlib import display as xdisplay

    d = xdisplay.Display(display_name)
    try:
        win = d.get_input_focus().focus
        root = d.screen().root
        while isinstance(win, object) and hasattr(win, "query_tree") and win != root:
            name = _title(d, win)
            if name:
                return name
            win = win.query_tree().parent
        return None
    finally:
        d.close()


def _title(d, win) -> str | None:
    """The title as the desktop shows it: _NET_WM_NAME (UTF-8), else the legacy WM_NAME."""
    prop = win.get_full_property(d.intern_atom("_NET_WM_NAME"), d.intern_atom("UTF8_STRING"))
    if prop is None:
        name = win.get_wm_name()
        return name if isinstance(name, str) else None
    value = prop.value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def window_title(display_name: str, title_prefix: str = "Nexus") -> str:
    d, win = find_window(display_name, title_prefix)
    try:
        return _title(d, win) or ""
    finally:
        d.close()


def wait_for_title(display_name: str, expected: str, timeout: float = 60.0) -> None:
    titles = [""]

    def title_is_expected() -> bool:
        titles.append(window_title(display_name))
        return titles[-1] == expected

    try:
        wait_until(title_is_expected, timeout, f"the window title {expected!r}", interval=0.3)
    except AssertionError:
        raise AssertionError(f"the window title stayed {titles[-1]!r}, expected {expected!r}") from None


def close_window(display_name: str, title_prefix: str = "Nexus") -> None:
    """WM_DELETE_WINDOW: what a window manager sends when the user clicks the close button."""
    from Xlib import X
    from Xlib.protocol import event

    d, win = find_window(display_name, title_prefix)
    try:
        protocols, delete = d.intern_atom("WM_PROTOCOLS"), d.intern_atom("WM_DELETE_WINDOW")
        message = event.ClientMessage(window=win, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        win.send_event(message, event_mask=X.NoEventMask)
        d.flush()
    finally:
        d.close()


def close_window_until(proc: subprocess.Popen[str], display_name: str, needle: str, seen: list[str],
                       attempts: int = 5) -> str:
    """Click the close button until the app reports `needle`, for up to `attempts` x 15 s.

    Qt can drop a close request that arrives while its web view is still being set up. And
    under Xvfb (no window manager) on a loaded machine, Qt's X connection sometimes receives
    nothing at all for tens of seconds: the X server delivers the same window's events to
    another client (xev sees them) while Qt's event reader sits idle in xcb_wait_for_event
    and its GUI loop idles too (gdb, py-spy). Nexus does nothing in that time; it happens with
    and without activateWindow, GPU or GLib's event loop. A user's second click goes through
    once the stall ends, and so does the test's."""
    for _ in range(attempts - 1):
        close_window(display_name)
        try:
            return read_until(proc, needle, 15, seen)
        except AssertionError:
            pass
    close_window(display_name)
    return read_until(proc, needle, 15, seen)  # the last click: fails with the output so far


def image_is_blank(png: Path) -> bool:
    """True if the screenshot is one flat colour (nothing was drawn)."""
    out = subprocess.run(["convert", str(png), "-format", "%[fx:standard_deviation]", "info:"],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip() or 0) < 0.01


def settings_json(settings: dict) -> str:
    return json.dumps(settings)
