"""A fake Anthropic Messages API on 127.0.0.1, speaking the real streaming wire format.

Tests script it: `fake.queue(events)` adds one response (a list of SSE events from the
builders below, with `pause(seconds)` or `hold(event)` items to slow or stop the stream),
`fake.queue_error(status, type, message, headers)` adds an error response. Each POST
/v1/messages takes the next queued response (or a short "OK" reply when none is queued).
`fake.requests` records every request (path, headers, JSON body) so tests can check what
the real `anthropic` SDK sent. GET /v1/models answers a one-model page (the key check).
A request whose key (`x-api-key`, or the bearer token SDK 2.x sends) is not
`fake.api_key` gets the real 401 body.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VALID_KEY = "sk-ant-test-fake-key-0123456789"


@dataclass
class Pause:
    seconds: float


@dataclass
class Hold:
    until: threading.Event


@dataclass
class ErrorResponse:
    status: int
    type: str
    message: str
    headers: dict[str, str]


def pause(seconds: float) -> Pause:
    return Pause(seconds)


def hold(until: threading.Event) -> Hold:
    return Hold(until)


def _usage(input_tokens: int, output_tokens: int, cache_read: int, cache_write: int) -> dict[str, Any]:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens, "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": cache_write}


def message_start(model: str = "claude-sonnet-5-5", *, input_tokens: int = 0, cache_read: int = 0,
                  cache_write: int = 0) -> dict[str, Any]:
    return {"type": "message_start", "message": {
        "id": f"msg_fake{time.time_ns()}", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": _usage(input_tokens, 1, cache_read, cache_write)}}


def text_block(index: int, *chunks: str) -> list[Any]:
    return [{"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
            *[{"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": c}}
              for c in chunks],
            {"type": "content_block_stop", "index": index}]


def thinking_block(index: int, *chunks: str, signature: str = "c2lnbmF0dXJlLWZha2U=") -> list[Any]:
    return [{"type": "content_block_start", "index": index,
             "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
            *[{"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": c}}
              for c in chunks],
            {"type": "content_block_delta", "index": index, "delta": {"type": "signature_delta",
                                                                      "signature": signature}},
            {"type": "content_block_stop", "index": index}]


def tool_block(index: int, tool_id: str, name: str, tool_input: dict[str, Any], pieces: int = 3) -> list[Any]:
    raw = json.dumps(tool_input)
    size = max(1, -(-len(raw) // pieces))
    return [{"type": "content_block_start", "index": index,
             "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}}},
            *[{"type": "content_block_delta", "index": index,
               "delta": {"type": "input_json_delta", "partial_json": raw[i:i + size]}}
              for i in range(0, len(raw), size)],
            {"type": "content_block_stop", "index": index}]


def message_end(stop_reason: str = "end_turn", *, output_tokens: int = 0, input_tokens: int | None = None,
                cache_read: int | None = None, cache_write: int | None = None) -> list[Any]:
    usage: dict[str, Any] = {"output_tokens": output_tokens}
    for key, value in (("input_tokens", input_tokens), ("cache_read_input_tokens", cache_read),
                       ("cache_creation_input_tokens", cache_write)):
        if value is not None:
            usage[key] = value
    return [{"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}, "usage": usage},
            {"type": "message_stop"}]


def reply(text: str, *, thinking: str | None = None, model: str = "claude-sonnet-5-5", input_tokens: int = 10,
          output_tokens: int = 5, cache_read: int = 0, cache_write: int = 0) -> list[Any]:
    """A complete streamed answer: optional thinking, then the text in word-sized chunks."""
    events: list[Any] = [message_start(model, input_tokens=input_tokens, cache_read=cache_read,
                                       cache_write=cache_write), {"type": "ping"}]
    index = 0
    if thinking:
        events += thinking_block(0, *_chunks(thinking))
        index = 1
    events += text_block(index, *_chunks(text))
    return events + message_end("end_turn", output_tokens=output_tokens)


def tool_call(tool_id: str, name: str, tool_input: dict[str, Any], *, text: str | None = None,
              thinking: str | None = None, input_tokens: int = 20, output_tokens: int = 8) -> list[Any]:
    """A response that asks for one tool (stop_reason tool_use)."""
    events: list[Any] = [message_start(input_tokens=input_tokens)]
    index = 0
    if thinking:
        events += thinking_block(index, *_chunks(thinking))
        index += 1
    if text:
        events += text_block(index, *_chunks(text))
        index += 1
    events += tool_block(index, tool_id, name, tool_input)
    return events + message_end("tool_use", output_tokens=output_tokens)


def _chunks(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


class FakeAnthropic:
    def __init__(self, api_key: str = VALID_KEY) -> None:
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self._responses: deque[Any] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def queue(self, events: list[Any]) -> None:
        with self._lock:
            self._responses.append(list(events))

    def queue_error(self, status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._responses.append(ErrorResponse(status, type_, message, headers or {}))

    def _next(self) -> Any:
        with self._lock:
            return self._responses.popleft() if self._responses else reply("OK")

    def pending(self) -> int:
        with self._lock:
            return len(self._responses)

    def start(self) -> FakeAnthropic:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("request-id", "req_fake")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> None:
                self._json(status, {"type": "error", "error": {"type": type_, "message": message},
                                    "request_id": "req_fake"}, headers)

            def _authorized(self) -> bool:
                # The SDK (2.x) sends the key as a bearer token; other clients use x-api-key.
                bearer = (self.headers.get("authorization") or "").removeprefix("Bearer ")
                if fake.api_key in (self.headers.get("x-api-key"), bearer):
                    return True
                self._error(401, "authentication_error", "invalid x-api-key")
                return False

            def do_GET(self) -> None:
                fake.requests.append({"method": "GET", "path": self.path, "headers": dict(self.headers), "body": None})
                if not self._authorized():
                    return
                if self.path.startswith("/v1/models"):
                    self._json(200, {"data": [{"type": "model", "id": "claude-sonnet-4-5",
                                               "display_name": "Claude Sonnet 4.5",
                                               "created_at": "2025-09-29T00:00:00Z"}],
                                     "has_more": False, "first_id": "claude-sonnet-4-5",
                                     "last_id": "claude-sonnet-4-5"})
                else:
                    self._error(404, "not_found_error", "not found")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append({"method": "POST", "path": self.path, "headers": dict(self.headers),
                                      "body": body})
                if not self._authorized():
                    return
                if not self.path.startswith("/v1/messages"):
                    self._error(404, "not_found_error", "not found")
                    return
                response = fake._next()
                if isinstance(response, ErrorResponse):
                    self._error(response.status, response.type, response.message, response.headers)
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("connection", "close")
                self.end_headers()
                self.close_connection = True
                try:
                    for item in response:
                        if isinstance(item, Pause):
                            time.sleep(item.seconds)
                            continue
                        if isinstance(item, Hold):
                            item.until.wait(30)
                            continue
                        frame = f"event: {item['type']}\ndata: {json.dumps(item)}\n\n".encode()
                        self.wfile.write(frame)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (Stop pressed)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-anthropic", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None
