"""The WebSocket client Nexus (and its tests) use: simple-websocket's, with one fix.

simple-websocket 1.1.0's `Client` reads the handshake answer with one `recv()` and takes
only the first event from it. When the server's first frames arrive in that same read (a
server that speaks at once: OpenCode's PTY replaying its screen, Nexus's terminal sending
`ready` and the scrollback), they stay parsed-but-unread inside wsproto until some later
bytes arrive — for an idle shell, never. This subclass hands them over right after the
handshake. (The same bug, fixed in other clients: netty#1331, rust-websocket#72.)
"""

from __future__ import annotations

from typing import Any

import simple_websocket

ConnectionClosed = simple_websocket.ConnectionClosed
ConnectionError = simple_websocket.ConnectionError


class Client(simple_websocket.Client):
    def handshake(self) -> None:
        super().handshake()
        # Frames that came with the 101 answer go into the input buffer now. A close among
        # them still counts as a connection made: its messages are read first, then the
        # reader thread meets the hang-up and receive() raises ConnectionClosed.
        if self.connected and not self._handle_events():
            self.event.set()


def connect(url: str, headers: dict[str, str] | None = None, **options: Any) -> Client:
    """Open a WebSocket to `url` (ws:// or wss://); raises ConnectionError when refused."""
    return Client.connect(url, headers=headers, **options)
