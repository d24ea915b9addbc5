"""Werkzeug's threaded server, in-process, in a thread Nexus owns.

It is the one in-process server that flask-sock's WebSockets work on, on every platform
(see the stack notes). Nexus binds it to loopback only: remote users arrive through
cloudflared, which connects to loopback too.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
import threading

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger(__name__)


class PortInUse(RuntimeError):
    pass


class WebServer:
    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 7420) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> WebServer:
        # Bind here rather than in Werkzeug, which answers a taken port with sys.exit(1).
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            if sys.platform != "win32":  # on Windows this flag would allow stealing a live port
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.requested_port))
            listener.listen(128)
        except OSError as exc:
            listener.close()
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(f"Port {self.requested_port} on {self.host} is already in use (is Nexus already "
                                "running?). Choose another with --port.") from exc
            raise
        try:
            port = listener.getsockname()[1]
            self._server = make_server(self.host, port, self.app, threaded=True, fd=listener.fileno())
        finally:
            listener.close()  # Werkzeug holds its own duplicate of the socket
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="nexus-http", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.app.extensions["nexus.closing"].set()  # ends open streams
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = self._thread = None
