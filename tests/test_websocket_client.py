"""Frames that arrive in the same read as the handshake's 101 answer reach the caller at
once (simple-websocket 1.1.0's client left them parsed but unread until more bytes came,
which failed a CI run when a terminal's `ready` frame came bundled with its answer)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from wsproto.frame_protocol import Opcode
from wsproto.utilities import generate_accept_token

from nexus import websocket_client


def _frame(text: str) -> bytes:
    data = text.encode()
    assert len(data) < 126
    return bytes([0x80 | Opcode.TEXT.value, len(data)]) + data


@pytest.fixture
def eager_server() -> Iterator[tuple[str, threading.Event]]:
    """A server that answers the handshake and sends two frames in one send(), then
    stays silent (like an idle shell) until the test is over."""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key:"))
            accept = generate_accept_token(key)
            answer = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            conn.sendall(answer + _frame('{"type":"ready"}') + _frame("$ "))
            done.wait(10)

    thread = threading.Thread(target=serve, name="eager-ws-server")
    thread.start()
    yield f"ws://127.0.0.1:{listener.getsockname()[1]}/", done
    done.set()
    thread.join(10)
    listener.close()


def test_frames_sent_with_the_handshake_answer_are_received(eager_server) -> None:
    url, _ = eager_server
    ws = websocket_client.connect(url)
    try:
        assert ws.receive(timeout=5) == '{"type":"ready"}'
        assert ws.receive(timeout=5) == "$ "
    finally:
        ws.close()
