"""The live stream over real sockets: WebSocket, SSE fallback, origin check, clean shutdown."""

from __future__ import annotations

import json
import threading
import time

import httpx2
import pytest
import simple_websocket

from nexus import websocket_client
from nexus.ui import create_app
from nexus.ui.http_server import WebServer
from tests.wait_helpers import wait_until


def _ws_url(server: WebServer) -> str:
    return server.url.replace("http://", "ws://") + "/api/stream"


def test_websocket_sends_hello_then_live_metrics_and_state(live_stream, runtime) -> None:
    ws = websocket_client.connect(_ws_url(live_stream))
    try:
        hello = json.loads(ws.receive(timeout=5))
        assert hello["type"] == "hello"
        assert hello["data"]["status"]["state"] == "stopped"
        seen = set()
        runtime.bus.publish("server.state", state="starting", previous="stopped", reason="test", status={})
        deadline = time.monotonic() + 5
        while {"server.metrics", "server.state"} - seen and time.monotonic() < deadline:
            message = json.loads(ws.receive(timeout=5))
            seen.add(message["type"])
        assert {"server.metrics", "server.state"} <= seen
    finally:
        ws.close()


def test_sse_fallback_carries_the_same_messages(live_stream) -> None:
    with httpx2.stream("GET", f"{live_stream.url}/api/stream/sse", timeout=10) as res:
        assert res.headers["content-type"].startswith("text/event-stream")
        types = []
        for line in res.iter_lines():
            if line.startswith("data: "):
                types.append(json.loads(line[6:])["type"])
            if "server.metrics" in types:
                break
    assert types[0] == "hello"
    assert "server.metrics" in types


def test_websocket_from_a_foreign_origin_is_refused(live_stream) -> None:
    with pytest.raises(simple_websocket.ConnectionError):
        websocket_client.connect(_ws_url(live_stream), headers={"Origin": "https://evil.example"})


def test_stopping_the_server_ends_open_streams(runtime) -> None:
    runtime.start()
    server = WebServer(create_app(runtime), "127.0.0.1", 0).start()
    try:
        ws = websocket_client.connect(_ws_url(server))
        ws.receive(timeout=5)
        sse_open = threading.Event()
        sse_done = threading.Event()

        def read_sse() -> None:
            try:
                with httpx2.stream("GET", f"{server.url}/api/stream/sse", timeout=10) as res:
                    for _ in res.iter_lines():
                        sse_open.set()  # the server's first line: its handler is streaming
            except httpx2.HTTPError:
                pass
            sse_done.set()

        reader = threading.Thread(target=read_sse, name="test-sse-reader", daemon=True)
        reader.start()
        # Wait for the sentinel (the first SSE line), not a fixed time: under load the
        # handler can take longer than any guess to start.
        assert sse_open.wait(30), "the SSE stream opened"
        handler_threads = wait_until(lambda: len(found := {t for t in threading.enumerate()
                                                           if "process_request_thread" in t.name}) >= 2 and found,
                                     30, "both stream handlers to run")
        assert len(handler_threads) == 2
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 10
        assert sse_done.wait(10), "the SSE response ended"
        wait_until(lambda: not any(t.is_alive() for t in handler_threads), 10, "the stream handler threads to end")
        assert not ws.connected, "the server closed the WebSocket"
    finally:
        server.stop()  # idempotent: a failure above never leaves the server's threads running
        reader_thread = next((t for t in threading.enumerate() if t.name == "test-sse-reader"), None)
        if reader_thread is not None:
            reader_thread.join(15)
