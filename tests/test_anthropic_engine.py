"""The Anthropic engine driven through the real ChatService, the real `anthropic` SDK and
a fake Messages API that speaks the streaming wire format (tests/fakes/fake_anthropic.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus.chat.engines.anthropic import API_KEY_SECRET, pricing
from nexus.runtime import Runtime
from tests.auth_helpers import remember
from tests.chat_helpers import collect, ended, status_is, text_of
from tests.fakes import fake_anthropic as fa


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "app.py").write_text("def greet():\n    return 'hello'\n")
    return root


@pytest.fixture
def rt(tmp_path: Path, fake_anthropic: fa.FakeAnthropic, workspace: Path, make_runtime) -> Iterator[Runtime]:
    rt = make_runtime()
    rt.settings.update({"server.autostart": False, "anthropic.base_url": fake_anthropic.url, "anthropic.max_retries": 0,
                        "server.workspace": str(workspace)})
    rt.secrets.set(API_KEY_SECRET, remember(fa.VALID_KEY))
    rt.start()
    yield rt
    rt.stop()


def _session(rt: Runtime, **agent) -> tuple[str, object]:
    config = rt.agents.create({"name": "Coder", "engine": "anthropic", "model": "claude-sonnet-5-5", **agent})
    session = rt.chat.create(agent_id=config["id"])
    client = rt.chat.hub.client()
    rt.chat.follow(client, session["id"], None, None)
    return session["id"], client


def test_streams_thinking_and_text_and_prices_the_usage(rt: Runtime, fake_anthropic: fa.FakeAnthropic) -> None:
    fake_anthropic.queue(fa.reply("Hello from the fake model.", thinking="Let me think about this.", input_tokens=1200,
                        output_tokens=340, cache_read=5000, cache_write=800))
    sid, client = _session(rt, system_prompt="Be brief.", thinking_budget=2048, max_tokens=4096)
    rt.chat.prompt(sid, text="hi")
    events = collect(client, status_is("idle"))
    assert text_of(events) == "Hello from the fake model."
    assert text_of(events, "reasoning") == "Let me think about this."
    usage = [e for e in events if e.type == "usage"][-1].data
    assert usage["tokens"] == {"input": 1200, "output": 340, "reasoning": 0, "cache_read": 5000, "cache_write": 800}
    price = pricing.price_of("claude-sonnet-5-5")
    expected = (1200 * price["input"] + 340 * price["output"] + 5000 * price["cache_read"]
                + 800 * price["cache_write"]) / 1_000_000
    assert usage["cost"] == pytest.approx(expected) and usage["estimated"] is False
    # What the real SDK sent: key header, version header, the agent's options.
    request = fake_anthropic.requests[-1]
    assert request["headers"]["Authorization"] == f"Bearer {fa.VALID_KEY}" and request["headers"]["anthropic-version"]
    body = request["body"]
    assert body["stream"] is True and body["system"] == "Be brief." and body["max_tokens"] == 4096
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048} and "temperature" not in body
    assert [t["name"] for t in body["tools"]] == ["list", "read", "grep", "write", "edit", "bash"]
    # Stored: per-message model and usage, session totals (analytics reads these columns).
    rt.chat.writer.flush(sid)
    messages = rt.chat.messages(sid)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["model"] == "claude-sonnet-5-5" and messages[1]["tokens"]["cache_read"] == 5000
    assert rt.chat.get(sid)["cost"] == pytest.approx(expected)
    reasoning = messages[1]["parts"][0]
    assert reasoning["kind"] == "reasoning" and reasoning["signature"] == "c2lnbmF0dXJlLWZha2U="
    assert rt.chat.get(sid)["title"] == "hi"  # an untitled session is named after its first message


def test_tool_loop_read_edit_with_permission_then_run(rt: Runtime, fake_anthropic: fa.FakeAnthropic, workspace: Path,
                                                     no_leftover_processes) -> None:
    fake_anthropic.queue(fa.tool_call("toolu_1", "read", {"filePath": "app.py"}, thinking="Read it first."))
    fake_anthropic.queue(fa.tool_call("toolu_2", "edit", {"filePath": "app.py", "oldString": "'hello'",
                                                "newString": "'hello, world'"}))
    fake_anthropic.queue(fa.tool_call("toolu_3", "bash", {"command": "python3 -c 'import app; print(app.greet())'"}))
    fake_anthropic.queue(fa.reply("Done: it prints hello, world."))
    sid, client = _session(rt, thinking_budget=1024, max_tokens=2048)
    rt.chat.prompt(sid, text="change the greeting and run it")
    events = collect(client, lambda e: e.type == "permission.asked")
    asked = events[-1].data["permission"]
    assert asked["tool"] == "edit" and asked["title"] == "app.py"
    assert (workspace / "app.py").read_text().count("'hello'") == 1  # nothing changed before the answer
    read = [e for e in events if e.type == "tool.end"][0].data["part"]
    assert read["status"] == "completed" and "def greet" in read["output"]
    rt.chat.reply_permission(sid, asked["id"], "once")
    events = collect(client, lambda e: e.type == "permission.asked")
    edit = [e for e in events if e.type == "tool.end"][0].data["part"]
    assert "+    return 'hello, world'" in edit["metadata"]["diff"]
    assert events[-1].data["permission"]["tool"] == "bash"
    rt.chat.reply_permission(sid, events[-1].data["permission"]["id"], "always")
    events = collect(client, status_is("idle"))
    bash = [e for e in events if e.type == "tool.end"][0].data["part"]
    assert bash["status"] == "completed" and "hello, world" in bash["output"] and bash["metadata"]["exit"] == 0
    assert text_of(events) == "Done: it prints hello, world."
    # The last request carried the whole loop: signed thinking, tool_use and tool_result pairs.
    sent = fake_anthropic.requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant", "user", "assistant", "user"]
    assert sent[1]["content"][0] == {"type": "thinking", "thinking": "Read it first.",
                                     "signature": "c2lnbmF0dXJlLWZha2U="}
    assert sent[1]["content"][1]["type"] == "tool_use" and sent[2]["content"][0]["tool_use_id"] == "toolu_1"
    assert "hello, world" in sent[6]["content"][0]["content"]


def test_conversation_is_rebuilt_from_the_store_after_a_restart(tmp_path: Path, fake_anthropic: fa.FakeAnthropic,
                                                                 workspace: Path, make_runtime) -> None:
    def open_runtime() -> Runtime:
        rt = make_runtime()
        rt.settings.update({"server.autostart": False, "anthropic.base_url": fake_anthropic.url, "anthropic.max_retries": 0,
                            "server.workspace": str(workspace)})
        rt.start()
        return rt

    rt = open_runtime()
    rt.secrets.set(API_KEY_SECRET, remember(fa.VALID_KEY))
    fake_anthropic.queue(fa.tool_call("toolu_9", "list", {"path": "."}, thinking="Look around."))
    fake_anthropic.queue(fa.reply("There is app.py."))
    sid, client = _session(rt, thinking_budget=1024, max_tokens=2048)
    rt.chat.prompt(sid, text="what is here?")
    collect(client, status_is("idle"))
    first = fake_anthropic.requests[-1]["body"]["messages"]
    rt.stop()

    rt = open_runtime()
    try:
        client = rt.chat.hub.client()
        rt.chat.follow(client, sid, None, None)
        fake_anthropic.queue(fa.reply("Still app.py."))
        rt.chat.prompt(sid, text="and now?")
        collect(client, status_is("idle"))
        resumed = fake_anthropic.requests[-1]["body"]["messages"]
        assert resumed[:3] == first  # the same history, tool_use/tool_result pairs included
        assert resumed[1]["content"][0]["signature"] == "c2lnbmF0dXJlLWZha2U="
        assert resumed[-2] == {"role": "assistant", "content": [{"type": "text", "text": "There is app.py."}]}
        assert resumed[-1] == {"role": "user", "content": [{"type": "text", "text": "and now?"}]}
    finally:
        rt.stop()


def test_stop_mid_stream_keeps_the_partial_text_and_estimates_the_cost(rt: Runtime, fake_anthropic: fa.FakeAnthropic) -> None:
    gate = threading.Event()
    events = [fa.message_start(input_tokens=100), *fa.text_block(0, "Partial ", "answer ")]
    events.insert(-1, fa.hold(gate))  # the stream stalls before the block ends
    fake_anthropic.queue(events + fa.message_end(output_tokens=50))
    sid, client = _session(rt)
    rt.chat.prompt(sid, text="write a lot")
    collect(client, lambda e: e.type == "text.delta" and "answer" in e.data["delta"])
    started = time.monotonic()
    rt.chat.abort(sid)
    events = collect(client, status_is("idle"), timeout=10)
    gate.set()
    assert time.monotonic() - started < 5  # the blocked read was woken, not waited out
    end = [e for e in events if e.type == "message.end"][-1].data
    assert end["finish"] == "aborted" and "estimated" in end["error"]["message"]
    usage = [e for e in events if e.type == "usage"][-1].data
    assert usage["estimated"] is True and usage["tokens"]["input"] == 100 and usage["tokens"]["output"] >= 1
    rt.chat.writer.flush(sid)
    last = rt.chat.messages(sid)["messages"][-1]
    assert last["parts"][0]["text"] == "Partial answer " and last["cost"] > 0


@pytest.mark.parametrize("status,type_,headers,code,words", [
    (401, "authentication_error", {}, "invalid_key", "refused the API key"),
    (429, "rate_limit_error", {"retry-after": "17"}, "rate_limited", "Try again in 17 s"),
    (529, "overloaded_error", {}, "overloaded", "overloaded"),
    (400, "invalid_request_error", {}, "context_too_long", "too long for the model's context window"),
])
def test_errors_are_reported_in_plain_words(rt: Runtime, fake_anthropic: fa.FakeAnthropic, status: int, type_: str,
                                            headers: dict, code: str, words: str) -> None:
    message = "prompt is too long: 210000 tokens > 200000 maximum" if code == "context_too_long" else "nope"
    fake_anthropic.queue_error(status, type_, message, headers)
    sid, client = _session(rt)
    rt.chat.prompt(sid, text="hi")
    events = collect(client, status_is("idle"))
    end = [e for e in events if e.type == "message.end"][-1].data
    assert end["finish"] == "error" and end["error"]["name"] == code and words in end["error"]["message"]
    if code == "rate_limited":
        assert end["error"]["retry_after"] == 17
    assert not [e for e in events if e.type == "error"]  # shown once, on the message
    rt.chat.writer.flush(sid)
    assert rt.chat.messages(sid)["messages"][-1]["error"] == end["error"]


def test_network_error_names_the_address(rt: Runtime, fake_anthropic: fa.FakeAnthropic) -> None:
    rt.settings.update({"anthropic.base_url": "http://127.0.0.1:9"})
    rt.anthropic.remember_key(fa.VALID_KEY)  # entered again for the new address
    sid, client = _session(rt)
    rt.chat.prompt(sid, text="hi")
    error = [e for e in collect(client, status_is("idle")) if e.type == "message.end"][-1].data["error"]
    assert error["name"] == "network" and "127.0.0.1:9" in error["message"]


def test_path_escape_is_refused_and_symlinks_too(rt: Runtime, fake_anthropic: fa.FakeAnthropic, workspace: Path,
                                                 tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("top secret")
    (workspace / "link.txt").symlink_to(tmp_path / "secret.txt")
    fake_anthropic.queue(fa.tool_call("toolu_a", "read", {"filePath": "../secret.txt"}))
    fake_anthropic.queue(fa.tool_call("toolu_b", "read", {"filePath": "link.txt"}))
    fake_anthropic.queue(fa.reply("I cannot."))
    sid, client = _session(rt)
    rt.chat.prompt(sid, text="read the secret")
    events = collect(client, status_is("idle"))
    ends = [e.data["part"] for e in events if e.type == "tool.end"]
    assert [p["status"] for p in ends] == ["error", "error"]
    assert all("outside the workspace" in p["error"] for p in ends)
    assert not any("top secret" in str(r["body"]) for r in fake_anthropic.requests)


def test_denied_write_changes_nothing_and_tells_the_model(rt: Runtime, fake_anthropic: fa.FakeAnthropic,
                                                          workspace: Path) -> None:
    fake_anthropic.queue(fa.tool_call("toolu_w", "write", {"filePath": "new.txt", "content": "x"}))
    fake_anthropic.queue(fa.reply("OK, I will not."))
    sid, client = _session(rt)
    rt.chat.prompt(sid, text="write a file")
    asked = collect(client, lambda e: e.type == "permission.asked")[-1].data["permission"]
    rt.chat.reply_permission(sid, asked["id"], "reject", "not now")
    collect(client, status_is("idle"))
    assert not (workspace / "new.txt").exists()
    result = fake_anthropic.requests[-1]["body"]["messages"][-1]["content"][0]
    assert result["is_error"] is True and "denied" in result["content"] and "not now" in result["content"]


def test_no_key_is_a_clear_error(tmp_path: Path, make_runtime) -> None:
    rt = make_runtime()
    try:
        config = rt.agents.create({"name": "A", "engine": "anthropic"})
        from nexus.chat.engines.base import EngineError
        with pytest.raises(EngineError, match="API key"):
            rt.chat.create(agent_id=config["id"])
    finally:
        rt.stop()


def test_key_check_uses_a_cheap_authenticated_call(rt: Runtime, fake_anthropic: fa.FakeAnthropic) -> None:
    assert rt.anthropic.check_key(fa.VALID_KEY)["ok"] is True
    assert fake_anthropic.requests[-1]["path"].startswith("/v1/models")
    from nexus.chat.engines.base import EngineError
    with pytest.raises(EngineError) as caught:
        rt.anthropic.check_key(remember("sk-ant-wrong-key-abcdef"))
    assert caught.value.code == "invalid_key"


def test_stop_joins_a_running_turn(rt: Runtime, fake_anthropic: fa.FakeAnthropic) -> None:
    gate = threading.Event()
    fake_anthropic.queue([fa.message_start(), fa.hold(gate), *fa.message_end()])
    sid, client = _session(rt)
    rt.chat.prompt(sid, text="hang")
    collect(client, status_is("busy"))
    rt.anthropic.stop()
    gate.set()
    assert not [t for t in threading.enumerate() if t.name.startswith("nexus-anthropic-")]


def test_a_reply_cut_off_by_a_crash_is_ended_at_the_next_start(tmp_path: Path, fake_anthropic: fa.FakeAnthropic,
                                                                workspace: Path, make_runtime) -> None:
    rt = make_runtime()
    rt.settings.update({"server.autostart": False, "anthropic.base_url": fake_anthropic.url, "anthropic.max_retries": 0,
                        "server.workspace": str(workspace)})
    rt.secrets.set(API_KEY_SECRET, remember(fa.VALID_KEY))
    sid, _ = _session(rt)
    # What a hard kill mid-reply leaves in the store: busy, an assistant message never ended.
    rt.chat.emit(sid, "session.status", {"status": "busy"})
    rt.chat.emit(sid, "message.start", {"message": {"id": "msg_cut", "role": "assistant", "created_at": time.time()}})
    rt.chat.emit(sid, "part.update", {"message_id": "msg_cut", "part": {"id": "prt_cut", "kind": "text",
                                                                        "text": "half "}})
    rt.chat.emit(sid, "tool.start", {"message_id": "msg_cut", "part": {"id": "prt_tool", "kind": "tool",
                                                                       "tool": "bash", "status": "running"}})
    rt.chat.writer.flush(sid)
    rt.db.close()

    again = make_runtime()
    again.settings.update({"server.autostart": False})
    try:
        assert again.chat.repo.get_session(sid)["status"] == "busy"
        again.start()
        assert again.chat.get(sid)["status"] == "idle"
        last = again.chat.messages(sid)["messages"][-1]
        assert last["finish"] == "interrupted" and last["parts"][0]["text"] == "half "
        assert last["error"] == {"name": "interrupted", "message": "Interrupted: Nexus was closed while this reply ran."}
        assert last["parts"][1]["status"] == "error" and last["parts"][1]["error"].startswith("Interrupted:")
        fake_anthropic.queue(fa.reply("back again"))
        client = again.chat.hub.client()
        again.chat.follow(client, sid, None, None)
        again.chat.prompt(sid, text="continue")  # not refused as busy
        assert text_of(collect(client, status_is("idle"))) == "back again"
    finally:
        again.stop()


def test_a_running_command_shows_its_output_before_it_ends(rt: Runtime, fake_anthropic: fa.FakeAnthropic,
                                                           no_leftover_processes) -> None:
    fake_anthropic.queue(fa.tool_call("toolu_s", "bash", {"command": "echo first; sleep 1; echo second"}))
    fake_anthropic.queue(fa.reply("ok"))
    sid, client = _session(rt, tools=["bash"])
    rt.chat.prompt(sid, text="run it")
    asked = collect(client, lambda e: e.type == "permission.asked")[-1].data["permission"]
    rt.chat.reply_permission(sid, asked["id"], "once")
    events = collect(client, lambda e: e.type == "tool.end")
    live = [e.data["part"] for e in events if e.type == "tool.update" and e.data["part"]["status"] == "running"]
    assert any((p.get("output") or "").strip() == "first" for p in live), [p.get("output") for p in live]
    assert "second" in events[-1].data["part"]["output"]
    collect(client, status_is("idle"))
    # The export (unchanged code) reads Anthropic sessions like any other.
    from nexus.chat.service import to_markdown
    markdown = to_markdown(rt.chat.export(sid))
    assert "**Tool `bash`** — completed" in markdown and "second" in markdown


def test_the_key_is_never_sent_to_an_address_it_was_not_entered_for(rt: Runtime, fake_anthropic: fa.FakeAnthropic) -> None:
    sid, client = _session(rt)
    rt.chat.prompt(sid, text="first use binds the key to this address")
    collect(client, status_is("idle"))
    other = fa.FakeAnthropic().start()
    try:
        rt.settings.update({"anthropic.base_url": other.url})  # e.g. by a script holding an API key
        from nexus.chat.engines.base import EngineError
        with pytest.raises(EngineError) as caught:
            rt.chat.prompt(sid, text="hi")
        assert caught.value.code == "key_address_changed" and other.url in str(caught.value)
        assert other.requests == []
    finally:
        other.stop()


def test_a_message_sent_while_busy_is_queued_then_sent_with_the_chosen_model(rt: Runtime,
                                                                           fake_anthropic: fa.FakeAnthropic) -> None:
    gate = threading.Event()
    fake_anthropic.queue([fa.message_start(), *fa.text_block(0, "first "), fa.hold(gate), *fa.message_end()])
    sid, client = _session(rt)
    assert rt.chat.prompt(sid, text="one")["queued"] is False
    collect(client, status_is("busy"))
    queued = rt.chat.prompt(sid, text="two", model="claude-opus-5-5")
    assert queued["queued"] is True, "never a second turn while one runs"
    assert rt.chat.get(sid)["model"] == "claude-opus-5-5", "the choice is remembered for the session"
    gate.set()
    collect(client, lambda e: e.type == "queue.updated" and not e.data["queue"], timeout=20)
    collect(client, ended(), timeout=20)
    collect(client, status_is("idle"), timeout=20)
    bodies = [r["body"] for r in fake_anthropic.requests if r["path"].startswith("/v1/messages")]
    assert [b["model"] for b in bodies][-2:] == ["claude-sonnet-5-5", "claude-opus-5-5"]
    users = [p["text"] for m in rt.chat.messages(sid)["messages"] if m["role"] == "user" for p in m["parts"]]
    assert users == ["one", "two"]
