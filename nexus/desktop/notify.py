"""OS notifications ("a session needs you") through the platform's own tool.

Linux: `notify-send` (libnotify); macOS: `osascript`. Windows toasts need an app identity
registered by an installer, so there the title count is the signal. Each notification runs
as a short child process from one owned thread, so a slow notification daemon never stalls
the chat relay that raised it.
"""

from __future__ import annotations

import logging
import queue
import shutil
import subprocess
import sys
import threading

log = logging.getLogger(__name__)


def notification_command(title: str, body: str, icon: str | None = None) -> list[str] | None:
    if sys.platform.startswith("linux"):
        tool = shutil.which("notify-send")
        if tool is None:
            return None
        return [tool, "--app-name=Nexus", *([f"--icon={icon}"] if icon else []), "--", title, body]
    if sys.platform == "darwin":
        def quoted(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return ["osascript", "-e", f"display notification {quoted(body)} with title {quoted(title)}"]
    return None


class Notifier:
    def __init__(self, icon: str | None = None) -> None:
        self._icon = icon
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=20)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="nexus-notify", daemon=True)
            self._thread.start()

    def notify(self, title: str, body: str) -> None:
        try:
            self._queue.put_nowait((title, body))
        except queue.Full:  # a burst of questions: the title count still tells
            pass

    def stop(self, timeout: float = 6.0) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            command = notification_command(*item, icon=self._icon)
            if command is None:
                log.info("no notification tool on this system; the window title shows the count")
                continue
            try:
                subprocess.run(command, timeout=5, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except (OSError, subprocess.TimeoutExpired) as exc:
                log.warning("notification failed: %s", exc)
