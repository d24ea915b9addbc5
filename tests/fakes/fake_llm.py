"""Fake OpenAI-compatible Chat Completions provider for tests and benchmarks (stdlib only).

The real OpenCode server is pointed at it with `opencode_config()` / `opencode_env()`.
Each reply is chosen from the text of the LAST user message:

  TOOL:<cmd>              streamed `bash` tool call {"command": <cmd>}; once the tool result
                          comes back the reply is "Tool said: <output>" (same for READ/WRITE)
  READ:<path>             `read` tool call {"filePath": <path>}
  WRITE:<path>:<content>  `write` tool call {"filePath": <path>, "content": <content>}
  QUESTION:<text>         `question` tool call: one single-choice question <text> with the
                          options "Yes" and "No"; QUESTION:<json list> passes the list as
                          the tool's `questions` (header, question, options, multiple)
  THINK                   reasoning_content deltas, then text
  SLOW                    200 words, 0.1 s apart (for abort tests)
  FAIL                    HTTP 500 JSON error (OpenCode retries it forever, with backoff)
  BURST:<n>:<ms>          n chunks "tok{i} ", one every <ms> ms (for relay benchmarks)
  TODO:<a>|<b>=<status>   `todowrite` tool call: one to-do per item, status pending unless given
                          (pending | in_progress | completed | cancelled)
  TASK:<prompt>           `task` tool call running the built-in `general` sub-agent on <prompt>
                          (the sub-agent's own request then gets the plain echo reply)
  OVERWRITE:<path>:<text> `write` tool call replacing a file; "\n" in <text> becomes a newline
  anything else           "Hello from fake LLM. You said: <text>" in 6-char chunks ~30 ms apart

Title-generation requests (no tools, a title-generator system prompt) get the fixed reply
TITLE, so sessions created without a title end up with a stable one.

Standalone:  python -m tests.fakes.fake_llm [port] [--log FILE] [--verbose]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

MODEL_ID = "fake-model"
TITLE = "Fake title"
HELLO = "Hello from fake LLM. You said: "

_BURST = re.compile(r"BURST:(\d+):(\d+(?:\.\d+)?)")
_MAX_BURST = 100_000  # keeps a typo from streaming forever


# --------------------------------------------------------------------------- reply plans


@dataclass(frozen=True)
class Step:
    """One streamed chunk: its `delta`, an optional finish_reason, and the delay before it."""

    delta: dict[str, Any]
    finish: str | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class ErrorReply:
    status: int
    message: str
    type: str = "server_error"


@dataclass
class _Ids:
    """Deterministic ids, so request logs and snapshots are stable across runs."""

    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, prefix: str) -> str:
        with self.lock:
            return f"{prefix}{next(self.counter):06d}"


def text_of(content: Any) -> str:
    """Text of a message `content`, which is either a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def is_title_request(body: Mapping[str, Any]) -> bool:
    # OpenCode's title agent sends no tools and a "You are a title generator" system prompt.
    # Checking the prompt too keeps hand-made requests without tools (curl, benchmarks) normal.
    if body.get("tools"):
        return False
    messages = body.get("messages") or []
    return any(
        m.get("role") == "system" and "title" in text_of(m.get("content")).lower() for m in messages
    )


def _chunks(text: str, size: int, delay: float) -> list[Step]:
    return [Step({"content": text[i : i + size]}, delay=delay) for i in range(0, len(text), size)]


def _words(text: str, key: str, delay: float) -> list[Step]:
    # Word-sized chunks that join back to exactly `text` (no trailing space).
    words = text.split(" ")
    return [Step({key: w + " " * (i < len(words) - 1)}, delay=delay) for i, w in enumerate(words)]


def _tool_call(name: str, args: dict[str, Any], call_id: str) -> list[Step]:
    encoded = json.dumps(args)
    steps = [
        Step({"role": "assistant", "content": "Let me run that."}),
        Step(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ]
            },
            delay=0.02,
        ),
    ]
    # Split the JSON arguments mid-token, as real providers do, to exercise client-side reassembly.
    steps += [
        Step(
            {"tool_calls": [{"index": 0, "function": {"arguments": encoded[i : i + 8]}}]},
            delay=0.02,
        )
        for i in range(0, len(encoded), 8)
    ]
    return [*steps, Step({}, finish="tool_calls")]


def question_list(spec: str) -> list[dict[str, Any]]:
    """The `questions` argument of OpenCode's question tool, from a prompt's QUESTION: text."""
    if spec.startswith("["):
        with contextlib.suppress(ValueError):
            parsed = json.loads(spec)
            if isinstance(parsed, list):
                return parsed
    return [{"header": "Question", "question": spec or "Go on?", "multiple": False,
             "options": [{"label": "Yes", "description": "Go ahead"},
                         {"label": "No", "description": "Stop here"}]}]


def plan_reply(body: Mapping[str, Any], ids: _Ids) -> list[Step] | ErrorReply:
    """Decide what to answer to one chat-completions request body."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return ErrorReply(400, "'messages' must be a list of objects", "invalid_request_error")
    last = messages[-1] if messages else {}
    last_user = next(
        (text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"),
        "",
    )
    from_user = last.get("role") == "user"
    start = Step({"role": "assistant", "content": ""})
    stop = Step({}, finish="stop")

    if is_title_request(body):
        return [start, Step({"content": TITLE}), stop]
    if last.get("role") == "tool":
        output = text_of(last.get("content")).strip()[:200]
        return [start, *_words("Tool said: " + output, "content", 0.02), stop]
    if from_user and "FAIL" in last_user:
        return ErrorReply(500, "fake failure")
    # Before WRITE: (which OVERWRITE: contains).
    if from_user and (parity := _parity_b_reply(last_user, ids)) is not None:
        return parity
    if from_user and "TOOL:" in last_user:
        command = last_user.split("TOOL:", 1)[1].strip()
        return _tool_call(
            "bash",
            {"command": command, "description": "Run a command"},
            ids.next("call_"),
        )
    if from_user and "READ:" in last_user:
        return _tool_call(
            "read",
            {"filePath": last_user.split("READ:", 1)[1].strip()},
            ids.next("call_"),
        )
    if from_user and "WRITE:" in last_user:
        path, _, content = last_user.split("WRITE:", 1)[1].strip().partition(":")
        return _tool_call("write", {"filePath": path, "content": content}, ids.next("call_"))
    if from_user and "QUESTION:" in last_user:
        return _tool_call("question", {"questions": question_list(last_user.split("QUESTION:", 1)[1].strip())},
                          ids.next("call_"))
    if from_user and "THINK" in last_user:
        thinking = _words("Let me think about this carefully.", "reasoning_content", 0.02)
        return [start, *thinking, *_words("The answer is 42.", "content", 0.02), stop]
    if "SLOW" in last_user:
        return [
            start,
            *(Step({"content": f"word{i} "}, delay=0.1) for i in range(200)),
            stop,
        ]
    if burst := _BURST.search(last_user):
        count, interval = min(int(burst[1]), _MAX_BURST), float(burst[2]) / 1000
        return [
            start,
            *(Step({"content": f"tok{i} "}, delay=interval) for i in range(count)),
            stop,
        ]
    return [start, *_chunks(HELLO + last_user.strip()[:200], 6, 0.03), stop]


# ----- parity-b triggers: to-dos, sub-agents, overwrites (issue 19 items 6, 7, 9)


def _parity_b_reply(last_user: str, ids: _Ids) -> list[Step] | None:
    if "TODO:" in last_user:
        todos = []
        for item in last_user.split("TODO:", 1)[1].strip().split("|"):
            content, _, status = item.partition("=")
            todos.append({"content": content.strip(), "status": status.strip() or "pending",
                          "priority": "medium"})
        return _tool_call("todowrite", {"todos": todos}, ids.next("call_"))
    if "TASK:" in last_user:
        prompt = last_user.split("TASK:", 1)[1].strip()
        return _tool_call("task", {"description": "Sub-task", "prompt": prompt, "subagent_type": "general"},
                          ids.next("call_"))
    if "OVERWRITE:" in last_user:
        path, _, content = last_user.split("OVERWRITE:", 1)[1].strip().partition(":")
        return _tool_call("write", {"filePath": path, "content": content.replace("\\n", "\n")},
                          ids.next("call_"))
    return None


def _usage(body: Mapping[str, Any], steps: list[Step]) -> dict[str, int]:
    # Rough but deterministic: ~4 characters per prompt token, one token per non-empty chunk.
    prompt = max(1, len(json.dumps(body.get("messages", []))) // 4)
    completion = sum(
        1
        for s in steps
        if any(s.delta.get(k) for k in ("content", "reasoning_content", "tool_calls"))
    )
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _aggregate(steps: list[Step]) -> tuple[dict[str, Any], str | None]:
    """Fold streamed deltas into one non-streamed assistant message."""
    content = "".join(s.delta.get("content") or "" for s in steps)
    reasoning = "".join(s.delta.get("reasoning_content") or "" for s in steps)
    calls: dict[int, dict[str, Any]] = {}
    for step in steps:
        for part in step.delta.get("tool_calls", []):
            call = calls.setdefault(
                part["index"],
                {
                    "id": "",
                    "type": "function",
                    "function": {"name": "", "arguments": ""},
                },
            )
            call["id"] = part.get("id", call["id"])
            call["function"]["name"] += part.get("function", {}).get("name", "")
            call["function"]["arguments"] += part.get("function", {}).get("arguments", "")
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning:
        message["reasoning_content"] = reasoning
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    finish = next((s.finish for s in reversed(steps) if s.finish), None)
    return message, finish


# --------------------------------------------------------------------------- HTTP layer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # every SSE frame must leave at once, for latency benchmarks
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            sys.stderr.write(f"fake_llm: {self.address_string()} {format % args}\n")

    def _send_json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, error: ErrorReply) -> None:
        self._send_json(
            error.status,
            {"error": {"message": error.message, "type": error.type, "code": None}},
        )

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # skip trailers
                pass
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length)

    def do_GET(self) -> None:
        if urlsplit(self.path).path.rstrip("/").endswith("/models"):
            model = {
                "id": MODEL_ID,
                "object": "model",
                "created": 0,
                "owned_by": "fake",
            }
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_error(ErrorReply(404, f"no route GET {self.path}", "not_found"))

    def do_POST(self) -> None:
        fake = self.server.fake
        try:
            raw = self._read_body()
        except ValueError:
            self.close_connection = True  # framing is unknown, so the connection can't be reused
            return self._send_error(ErrorReply(400, "bad request framing", "invalid_request_error"))
        if not urlsplit(self.path).path.rstrip("/").endswith("/chat/completions"):
            return self._send_error(ErrorReply(404, f"no route POST {self.path}", "not_found"))
        try:
            body = json.loads(raw)
        except ValueError as exc:  # includes UnicodeDecodeError
            return self._send_error(
                ErrorReply(400, f"malformed JSON body: {exc}", "invalid_request_error")
            )
        if not isinstance(body, dict):
            return self._send_error(
                ErrorReply(400, "body must be a JSON object", "invalid_request_error")
            )
        fake._record(self.path, body)

        plan = plan_reply(body, fake._ids)
        if isinstance(plan, ErrorReply):
            return self._send_error(plan)
        cid = fake._ids.next("chatcmpl-fake")
        model = str(body.get("model") or MODEL_ID)
        if body.get("stream"):
            self._stream(plan, cid, model, _usage(body, plan))
        else:
            message, finish = _aggregate(plan)
            self._send_json(
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": _usage(body, plan),
                },
            )

    def _stream(self, steps: list[Step], cid: str, model: str, usage: dict[str, int]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")  # no length and no chunking: the body ends at close
        self.end_headers()
        self.close_connection = True

        def frame(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            chunk = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
            }
            return b"data: " + json.dumps({**chunk, "choices": choices, **extra}).encode() + b"\n\n"

        stopping = self.server.fake._stopping
        due = time.monotonic()  # pace against absolute deadlines so long bursts don't drift
        try:
            for step in steps:
                due += step.delay
                if stopping.wait(max(0.0, due - time.monotonic())):
                    return  # FakeLLM.stop(): drop the stream rather than hold up shutdown
                choice = {"index": 0, "delta": step.delta, "finish_reason": step.finish}
                self.wfile.write(frame([choice]))
            self.wfile.write(frame([], usage=usage) + b"data: [DONE]\n\n")
        except OSError:
            self.log_message("client disconnected mid-stream (abort)")


class _Server(ThreadingHTTPServer):
    """Threading server that can close its open connections, so stop() leaves no thread behind."""

    daemon_threads = True  # a wedged client must never keep the interpreter alive
    block_on_close = False  # connection threads are joined in close_connections() instead

    def __init__(self, address: tuple[str, int], fake: FakeLLM) -> None:
        self.fake = fake
        self._conns: dict[threading.Thread, socket.socket] = {}
        self._conns_lock = threading.Lock()
        self._conn_ids = itertools.count(1)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"fake-llm-conn-{next(self._conn_ids)}",
            daemon=True,
        )
        with self._conns_lock:
            self._conns[thread] = request
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._conns_lock:
                self._conns.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # disconnects (and stop() closing idle keep-alive sockets) are expected
        super().handle_error(request, client_address)

    def close_connections(self, timeout: float) -> None:
        with self._conns_lock:
            conns = list(self._conns.items())
        for _, sock in conns:
            # Wakes a handler blocked reading an idle keep-alive socket; it may be closed already.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread, _ in conns:
            thread.join(timeout)


class FakeLLM:
    """The fake provider. `port` and `base_url` are set by start(); use as a context manager."""

    def __init__(
        self, log_path: str | None = None, *, port: int = 0, verbose: bool = False
    ) -> None:
        self.log_path = log_path  # if set, every request is appended there as one JSON line
        self.verbose = verbose
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        self.base_url = ""
        self._wanted_port = port
        self._lock = threading.Lock()
        self._ids = _Ids()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeLLM:
        if self._server is not None:
            raise RuntimeError("FakeLLM already started")
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", self._wanted_port), self)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # bounds how long stop() waits for the accept loop
            name=f"fake-llm-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()  # returns once serve_forever has exited: no new connections after this
        thread.join()
        server.close_connections(timeout=5)
        server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, path: str, body: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(body)
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as log:
                    log.write(json.dumps({"t": time.time(), "path": path, "body": body}) + "\n")


# --------------------------------------------------------------------------- OpenCode wiring


_STATE_DIRS = (
    ("home", "HOME"),
    ("config", "XDG_CONFIG_HOME"),
    ("data", "XDG_DATA_HOME"),
    ("cache", "XDG_CACHE_HOME"),
    ("state", "XDG_STATE_HOME"),
)


def opencode_config(base_url: str, permission_bash: str = "ask") -> dict[str, Any]:
    """OpenCode config that knows only the fake provider (see the opencode-server recipe, §3)."""
    return {
        "autoupdate": False,
        "share": "disabled",
        # Hides the built-in "OpenCode Zen" provider, which would otherwise become the default.
        "enabled_providers": ["fake"],
        "model": f"fake/{MODEL_ID}",
        "small_model": f"fake/{MODEL_ID}",  # title generation goes to the fake too
        "provider": {
            "fake": {
                # Bundled in the OpenCode binary, so nothing is downloaded at run time.
                "npm": "@ai-sdk/openai-compatible",
                "name": "Fake LLM",
                "options": {"baseURL": base_url, "apiKey": "dummy"},
                "models": {
                    MODEL_ID: {
                        "name": "Fake Model",
                        "tool_call": True,
                        "limit": {"context": 100000, "output": 4096},
                    }
                },
            }
        },
        "permission": {"bash": permission_bash},
    }


def opencode_env(
    base_url: str,
    state_dir: str,
    rg_dir: str | None = None,
    *,
    permission_bash: str = "ask",
    config: Mapping[str, Any] | None = None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Complete environment for an isolated, offline `opencode serve` (pass it as Popen's env).

    Starts from `base` (default os.environ) minus any inherited OPENCODE_* variables, so a
    developer's own OpenCode settings (config path, server password...) can't leak into tests.
    All of HOME/XDG_* point into `state_dir`; `rg_dir` (the folder holding `rg`) goes first on PATH.
    """
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.startswith("OPENCODE_")
    }
    for name, var in _STATE_DIRS:
        path = os.path.join(state_dir, name)
        os.makedirs(path, exist_ok=True)
        env[var] = path
    # Without these OpenCode reaches models.opencode.ai, npm and GitHub at boot.
    for flag in ("AUTOUPDATE", "MODELS_FETCH", "SHARE", "LSP_DOWNLOAD"):
        env[f"OPENCODE_DISABLE_{flag}"] = "1"
    env["OPENCODE_CONFIG_CONTENT"] = json.dumps(
        config or opencode_config(base_url, permission_bash)
    )
    if rg_dir:
        env["PATH"] = os.pathsep.join(p for p in (rg_dir, env.get("PATH", "")) if p)
    return env


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.fake_llm", description="Fake OpenAI-compatible provider."
    )
    parser.add_argument("port", nargs="?", type=int, default=0, help="default: a free port")
    parser.add_argument("--log", help="append every request body to this JSONL file")
    parser.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = parser.parse_args(argv)

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    with FakeLLM(args.log, port=args.port, verbose=args.verbose) as fake:
        # Benchmarks and scripts parse the port from this line.
        print(f"fake_llm listening on {fake.base_url}", flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
