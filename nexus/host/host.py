"""Everything a running Nexus is apart from its window: the single-instance lock, the
services (Runtime) and the web server. `nexus serve` runs it headless; the desktop app runs
it in background threads while the GUI owns the main thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nexus import startup_gc
from nexus.host.instance_lock import InstanceLock
from nexus.paths import DataPaths, resolve_data_dir

if TYPE_CHECKING:  # imported in open(): starting the window does not wait for them
    from nexus.runtime import Runtime
    from nexus.ui.http_server import WebServer

log = logging.getLogger(__name__)


@dataclass
class InstanceControl:
    """What the running instance offers a second launch (POST /api/desktop/focus).

    `show_window` brings the window to the front and says whether there was one to show;
    a headless Nexus has none, and the second launch opens a browser instead."""
    token: str
    show_window: Callable[[], bool] = field(default=lambda: False)


class Host:
    def __init__(self, data_dir: str | Path | None, host: str = "127.0.0.1", port: int = 7420, *,
                 console_log: bool = True) -> None:
        self.paths = DataPaths(resolve_data_dir(data_dir)).ensure()
        self.lock = InstanceLock(self.paths.root)
        self.host, self.port, self.console_log = host, port, console_log
        self.rt: Runtime | None = None
        self.server: WebServer | None = None
        self.control: InstanceControl | None = None

    def open(self) -> Host:
        """Take the lock, open the store, serve the UI. Raises AlreadyRunning (with the running
        instance's details), StoreError or PortInUse; on an error nothing is left running."""
        from nexus.runtime import Runtime
        from nexus.ui import create_app
        from nexus.ui.http_server import WebServer

        info = self.lock.acquire()
        try:
            self.rt = rt = Runtime.open(self.paths.root, console_log=self.console_log)
            app = create_app(rt)
            self.control = InstanceControl(info.token)
            app.extensions["nexus.instance"] = self.control
            self.server = server = WebServer(app, self.host, self.port).start()
            self.lock.publish_url(server.url)
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def runtime(self) -> Runtime:
        """The services, once open() has succeeded."""
        assert self.rt is not None, "not open"
        return self.rt

    @property
    def url(self) -> str:
        assert self.server is not None, "not open"
        return self.server.url

    def start_services(self) -> None:
        assert self.rt is not None
        self.rt.start(web_url=self.url)  # the tunnel forwards there
        startup_gc.resume()  # start-up is over: its objects frozen, the collector back on

    def stop(self) -> None:
        """Web server first (no new requests), then the services (OpenCode, cloudflared, the
        store), then the lock. Idempotent."""
        startup_gc.resume()  # a start that never reached start_services
        try:
            if self.server is not None:
                self.server.stop()
                self.server = None
        finally:  # whatever the web server did, the services (OpenCode) and the lock go
            try:
                if self.rt is not None:
                    self.rt.stop()
                    self.rt = None
            finally:
                self.lock.release()
