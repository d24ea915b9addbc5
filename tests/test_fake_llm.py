"""Tests of the fake OpenAI-compatible provider itself, over real sockets."""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.fake_llm import TITLE, FakeLLM, opencode_config, opencode_env
from tests.wait_helpers import wait_until

# Chat turns from OpenCode always carry tools; a request without them looks like title generation.
TOOLS = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]


@pytest.fixture
def logged_fake_llm(tmp_path: Any) -> Iterator[FakeLLM]:
    with FakeLLM(log_path=str(tmp_path / "requests.jsonl")) as server:
        yield server


def chat(text: str, *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "model": "fake-model",
        "stream": stream,
        "tools": TOOLS,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def post(
    logged_fake_llm: FakeLLM, body: dict[str, Any] | bytes, path: str = "/v1/chat/completions"
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", logged_fake_llm.port, timeout=10)
    try:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def sse_chunks(raw: bytes) -> list[dict[str, Any]]:
    """Parse `data:` frames; asserts the stream is well-formed and ends with [DONE]."""
    frames = [f for f in raw.decode().split("\n\n") if f]
    assert all(f.startswith("data: ") for f in frames), frames
    assert frames[-1] == "data: [DONE]"
    return [json.loads(f[len("data: ") :]) for f in frames[:-1]]


def content_of(chunks: list[dict[str, Any]], key: str = "content") -> str:
    return "".join(c["choices"][0]["delta"].get(key) or "" for c in chunks if c["choices"])


def tool_calls_of(chunks: list[dict[str, Any]]) -> tuple[str, dict[str, Any], int]:
    """Reassemble the first tool call: (name, parsed arguments, number of argument pieces)."""
    name, args, pieces = "", "", 0
    for chunk in chunks:
        for call in chunk["choices"][0]["delta"].get("tool_calls", []) if chunk["choices"] else []:
            name += call["function"].get("name", "")
            if call["function"].get("arguments"):
                args += call["function"]["arguments"]
                pieces += 1
    return name, json.loads(args), pieces


def open_slow_stream(logged_fake_llm: FakeLLM) -> socket.socket:
    """Start a SLOW stream on a raw socket and return once its first data frame has arrived."""
    sock = socket.create_connection(("127.0.0.1", logged_fake_llm.port), timeout=10)
    body = json.dumps(chat("SLOW")).encode()
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body)
    )
    received = b""
    while b"data: " not in received:  # headers and frames arrive in separate segments
        data = sock.recv(4096)
        assert data, "stream closed before the first frame"
        received += data
    return sock


def fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fake-llm")]


def test_streamed_plain_reply_reassembles(logged_fake_llm: FakeLLM) -> None:
    status, raw = post(logged_fake_llm, chat("ping"))
    assert status == 200
    chunks = sse_chunks(raw)
    assert content_of(chunks) == "Hello from fake LLM. You said: ping"
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) > 3
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    usage = chunks[-1]["usage"]
    assert chunks[-1]["choices"] == []
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_text_parts_and_non_stream_reply(logged_fake_llm: FakeLLM) -> None:
    body = chat("", stream=False)
    body["messages"][0]["content"] = [
        {"type": "text", "text": "hi"},
        {"type": "text", "text": "there"},
    ]
    status, raw = post(logged_fake_llm, body)
    reply = json.loads(raw)
    assert status == 200 and reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Hello from fake LLM. You said: hi there",
    }
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["usage"]["total_tokens"] > 0


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        (
            "TOOL:echo hi",
            "bash",
            {"command": "echo hi", "description": "Run a command"},
        ),
        ("READ:/tmp/x.txt", "read", {"filePath": "/tmp/x.txt"}),
        ("WRITE:notes.txt:a: b", "write", {"filePath": "notes.txt", "content": "a: b"}),
    ],
)
def test_tool_call_arguments_reassemble_to_json(
    logged_fake_llm: FakeLLM, text: str, name: str, args: dict[str, str]
) -> None:
    chunks = sse_chunks(post(logged_fake_llm, chat(text))[1])
    got_name, got_args, pieces = tool_calls_of(chunks)
    assert (got_name, got_args) == (name, args)
    assert pieces > 1  # really streamed in pieces
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_result_gets_a_text_reply(logged_fake_llm: FakeLLM) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "bash", "arguments": '{"command":"echo hi"}'},
    }
    messages = [
        {"role": "user", "content": "TOOL:echo hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "hi\n"},
    ]
    chunks = sse_chunks(post(logged_fake_llm, {"stream": True, "tools": TOOLS, "messages": messages})[1])
    assert content_of(chunks) == "Tool said: hi"


def test_non_stream_tool_call(logged_fake_llm: FakeLLM) -> None:
    reply = json.loads(post(logged_fake_llm, chat("TOOL:ls", stream=False))[1])
    (call,) = reply["choices"][0]["message"]["tool_calls"]
    assert json.loads(call["function"]["arguments"])["command"] == "ls"
    assert reply["choices"][0]["finish_reason"] == "tool_calls"


def test_think_streams_reasoning_then_text(logged_fake_llm: FakeLLM) -> None:
    chunks = sse_chunks(post(logged_fake_llm, chat("THINK"))[1])
    assert content_of(chunks, "reasoning_content") == "Let me think about this carefully."
    assert content_of(chunks) == "The answer is 42."


def test_burst_sends_n_chunks_at_the_given_pace(logged_fake_llm: FakeLLM) -> None:
    started = time.monotonic()
    chunks = sse_chunks(post(logged_fake_llm, chat("BURST:50:2"))[1])
    elapsed = time.monotonic() - started
    assert content_of(chunks) == "".join(f"tok{i} " for i in range(50))
    assert 0.09 <= elapsed < 2  # 50 x 2 ms, paced against deadlines


def test_title_request_gets_a_fixed_title(logged_fake_llm: FakeLLM) -> None:
    body = {
        "stream": True,
        "messages": [
            {
                "role": "system",
                "content": "You are a title generator. You output ONLY a thread title.",
            },
            {"role": "user", "content": "TOOL:rm -rf /"},
        ],
    }
    assert content_of(sse_chunks(post(logged_fake_llm, body)[1])) == TITLE
    # Without the title prompt, a request without tools is an ordinary chat turn.
    plain = {"stream": True, "messages": [{"role": "user", "content": "ping"}]}
    assert content_of(sse_chunks(post(logged_fake_llm, plain)[1])).startswith("Hello from fake LLM")


def test_fail_gives_500_json_error(logged_fake_llm: FakeLLM) -> None:
    status, raw = post(logged_fake_llm, chat("please FAIL"))
    assert status == 500
    assert json.loads(raw)["error"]["message"] == "fake failure"


def test_malformed_body_gives_400_and_server_keeps_serving(logged_fake_llm: FakeLLM) -> None:
    status, raw = post(logged_fake_llm, b"{not json")
    assert status == 400 and "malformed JSON" in json.loads(raw)["error"]["message"]
    assert post(logged_fake_llm, b"[1, 2]")[0] == 400
    assert post(logged_fake_llm, {"messages": "nope"})[0] == 400
    assert post(logged_fake_llm, chat("ping"))[0] == 200


def test_unknown_route_is_404_and_models_lists_fake_model(logged_fake_llm: FakeLLM) -> None:
    assert post(logged_fake_llm, chat("ping"), path="/v1/embeddings")[0] == 404
    conn = http.client.HTTPConnection("127.0.0.1", logged_fake_llm.port, timeout=10)
    conn.request("GET", "/v1/models")
    resp = conn.getresponse()
    assert resp.status == 200
    assert [m["id"] for m in json.loads(resp.read())["data"]] == ["fake-model"]
    conn.close()


def test_requests_are_recorded_and_logged(logged_fake_llm: FakeLLM) -> None:
    post(logged_fake_llm, chat("one"))
    post(logged_fake_llm, chat("two", stream=False))
    assert [r["messages"][0]["content"] for r in logged_fake_llm.requests] == ["one", "two"]
    assert logged_fake_llm.log_path is not None
    with open(logged_fake_llm.log_path, encoding="utf-8") as log:
        assert [json.loads(line)["body"]["messages"][0]["content"] for line in log] == [
            "one",
            "two",
        ]


def test_client_disconnect_mid_stream_is_quiet(
    logged_fake_llm: FakeLLM, capfd: pytest.CaptureFixture[str]
) -> None:
    before = set(fake_threads())
    sock = open_slow_stream(logged_fake_llm)
    streaming = [t for t in fake_threads() if t not in before and "-conn-" in t.name]
    assert streaming, "the stream has its own connection thread"
    sock.close()  # abort, as OpenCode does on session abort
    # The sentinel: that handler ended (its next write hit the closed socket), quietly or not.
    wait_until(lambda: not any(t.is_alive() for t in streaming), 10, "the aborted stream's handler to end")
    assert post(logged_fake_llm, chat("ping"))[0] == 200
    assert "Traceback" not in capfd.readouterr().err


def test_stop_leaves_no_thread_alive() -> None:
    others = set(fake_threads())  # a session-wide fake of other tests may be running
    logged_fake_llm = FakeLLM().start()
    assert logged_fake_llm.base_url == f"http://127.0.0.1:{logged_fake_llm.port}/v1" and logged_fake_llm.port > 0
    # One stream in flight and one idle keep-alive connection: stop() must end both.
    slow = open_slow_stream(logged_fake_llm)
    idle = http.client.HTTPConnection("127.0.0.1", logged_fake_llm.port, timeout=10)
    idle.request("GET", "/v1/models")
    idle.getresponse().read()
    assert len(set(fake_threads()) - others) >= 3

    started = time.monotonic()
    logged_fake_llm.stop()
    assert time.monotonic() - started < 3
    assert [t for t in fake_threads() if t not in others] == []
    logged_fake_llm.stop()  # idempotent
    slow.close()
    idle.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", logged_fake_llm.port), timeout=1).close()


def test_opencode_config_and_env(tmp_path: Any) -> None:
    url = "http://127.0.0.1:1234/v1"
    config = opencode_config(url, permission_bash="allow")
    assert config["provider"]["fake"]["options"]["baseURL"] == url
    assert config["enabled_providers"] == ["fake"] and config["model"] == "fake/fake-model"
    assert config["permission"] == {"bash": "allow"}

    base = {"PATH": "/usr/bin", "OPENCODE_SERVER_PASSWORD": "leak", "LANG": "C"}
    env = opencode_env(url, str(tmp_path / "st"), "/opt/rg", base=base)
    assert "OPENCODE_SERVER_PASSWORD" not in env and env["LANG"] == "C"
    assert env["PATH"] == os.pathsep.join(["/opt/rg", "/usr/bin"])
    for var in (
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_STATE_HOME",
    ):
        assert env[var].startswith(str(tmp_path / "st")) and os.path.isdir(env[var])
    assert env["OPENCODE_DISABLE_MODELS_FETCH"] == "1"
    assert json.loads(env["OPENCODE_CONFIG_CONTENT"]) == opencode_config(url)
