"""The built-in Anthropic engine: chat in-process over the official SDK's streaming
Messages API, with workspace tools, for users without an OpenCode binary.

Each prompt runs as one turn on a worker thread owned by the engine: stream a response,
run the tools it asked for (write, edit and bash after the user allows them), stream the
next response with the results, until the model stops. Everything is reported as the
normalized chat events (nexus/chat/events.py) through the sink, so cards, history,
search, analytics and exports need nothing engine-specific. The conversation sent to the
API is rebuilt from the transcript on every step, so a restart loses nothing.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus.chat import events as ev
from nexus.chat.engines.anthropic import pricing
from nexus.chat.engines.anthropic.conversation import rebuild
from nexus.chat.engines.anthropic.errors import describe, retry_after
from nexus.chat.engines.anthropic.tools import NEEDS_PERMISSION, ToolError, WorkspaceTools, definitions
from nexus.chat.engines.base import EngineError, EngineSink

if TYPE_CHECKING:
    import anthropic

    from nexus.settings import Settings

log = logging.getLogger(__name__)

ENGINE = "anthropic"
API_KEY_SECRET = "anthropic.api_key"
# The address the key was entered for. The key is only ever sent there: whoever may change
# settings (an API-key script, say) must not be able to point Nexus at their own server and
# receive the key. A new address needs the key entered again by the owner.
API_KEY_URL_SECRET = "anthropic.api_key_url"
DEFAULT_MAX_TOKENS = 8192
MAX_STEPS = 50  # responses per prompt; a model looping on tools is stopped here
MENTION_BYTES = 1024 * 1024  # of a mentioned file, sent as an attachment
OUTPUT_EVERY = 0.2  # seconds between live updates of a running command's output
STOPPED = {"name": "aborted", "message": "Stopped. The partial reply is kept; its cost is estimated."}


@dataclass
class _Permission:
    answered: threading.Event = field(default_factory=threading.Event)
    reply: str = "reject"
    message: str | None = None


@dataclass
class _Turn:
    session_id: str
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    stream: Any = None
    permissions: dict[str, _Permission] = field(default_factory=dict)


class AnthropicEngine:
    name = ENGINE

    def __init__(self, sink: EngineSink, *, settings: Settings, secrets: Any, workspace: Callable[[], Path]) -> None:
        self._sink = sink
        self._settings = settings
        self._secrets = secrets
        self._workspace = workspace
        self._lock = threading.Lock()
        self._turns: dict[str, _Turn] = {}
        self._always: dict[str, set[str]] = {}  # engine ref -> tools allowed for the session
        self._stopping = False
        self._client: tuple[tuple[str, str, int], anthropic.Anthropic] | None = None

    # ----- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._recover()

    def _recover(self) -> None:
        """After a crash or a kill, a session may be stored as busy with a reply half done:
        nothing runs it any more, so end that reply (its text is kept) and make it idle."""
        for session_id, _ref in self._sink.live_sessions(ENGINE):
            state = self._sink.transcript_state(session_id)
            if (state.get("status") or {}).get("status", "idle") == "idle":
                continue
            reason = "Interrupted: Nexus was closed while this reply ran."
            for message in state.get("messages", []):
                if message.get("role") == "assistant" and not message.get("completed_at"):
                    for part in message.get("parts", []):  # its tools end with it (the same words)
                        if part.get("kind") == "tool" and part.get("status") in ("pending", "running"):
                            closed = {k: v for k, v in part.items() if k != "message_id"}
                            self._sink.emit(session_id, ev.TOOL_END, {"message_id": message["id"], "part": {
                                **closed, "status": "error", "error": reason, "ended_at": time.time()}})
                    self._sink.emit(session_id, ev.MESSAGE_END, {
                        "message_id": message["id"], "finish": "interrupted", "completed_at": time.time(),
                        "error": {"name": "interrupted", "message": reason}})
            self._sink.emit(session_id, ev.SESSION_STATUS, {"status": "idle"})

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        with self._lock:
            turns = list(self._turns.values())
        for turn in turns:
            self._cancel(turn)
        for turn in turns:
            if turn.thread is not None:
                turn.thread.join(timeout)
        with self._lock:
            cached, self._client = self._client, None
        if cached is not None:
            cached[1].close()

    def _api_key(self) -> str | None:
        return self._secrets.get(API_KEY_SECRET)

    def remember_key(self, key: str) -> None:
        """Store the key for the address it was tested against (the Agents page, the wizard)."""
        self._secrets.set(API_KEY_SECRET, key)
        self._secrets.set(API_KEY_URL_SECRET, self.base_url)

    def forget_key(self) -> None:
        self._secrets.delete(API_KEY_SECRET)
        self._secrets.delete(API_KEY_URL_SECRET)

    def client(self) -> anthropic.Anthropic:
        key = self._api_key()
        if not key:
            raise EngineError("Enter an Anthropic API key on the Agents page first.", 400, "no_api_key")
        bound = self._secrets.get(API_KEY_URL_SECRET)
        if bound is None:  # a key stored some other way: bound to the address of its first use
            self._secrets.set(API_KEY_URL_SECRET, self.base_url)
        elif bound.rstrip("/") != self.base_url:
            raise EngineError(f"The Anthropic address changed to {self.base_url} since the key was entered for "
                              f"{bound}. Enter the key again on the Agents page to use the new address.",
                              400, "key_address_changed")
        # Building a client costs ~30-50 ms (and a connection pool): reuse it while the key,
        # the address and the retry count stay the same.
        config = (key, self.base_url, int(self._settings.current.anthropic.max_retries))
        anthropic = _sdk()
        with self._lock:
            if self._client is None or self._client[0] != config:
                self._client = (config, anthropic.Anthropic(api_key=config[0], base_url=config[1],
                                                            max_retries=config[2],
                                                            timeout=anthropic.Timeout(600.0, connect=10.0)))
            return self._client[1]

    @property
    def base_url(self) -> str:
        return self._settings.current.anthropic.base_url.rstrip("/")

    def check_stored_key(self) -> dict[str, Any]:
        """Test the stored key, only at the address it was entered for."""
        return self._list_one_model(self.client())

    def check_key(self, api_key: str) -> dict[str, Any]:
        """Test a candidate key with a cheap authenticated call (list one model)."""
        anthropic = _sdk()
        with anthropic.Anthropic(api_key=api_key, base_url=self.base_url, max_retries=0,
                                 timeout=anthropic.Timeout(20.0, connect=10.0)) as client:
            return self._list_one_model(client)

    def _list_one_model(self, client: anthropic.Anthropic) -> dict[str, Any]:
        try:
            page = client.models.list(limit=1)
        except _sdk().APIError as exc:
            code, message = describe(exc, self.base_url)
            raise EngineError(message, 400 if code == "invalid_key" else 502, code) from None
        return {"ok": True, "models": [m.id for m in page.data]}

    # ----- sessions -------------------------------------------------------------------------------

    def create_session(self, *, title: str | None, agent: str | None, model: str | None,
                       options: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self._api_key():
            raise EngineError("Enter an Anthropic API key on the Agents page first.", 400, "no_api_key")
        root = self._workspace()
        root.mkdir(parents=True, exist_ok=True)
        return {"engine_ref": f"anth_{uuid.uuid4().hex[:20]}", "directory": str(root), "title": title}

    def prompt(self, engine_ref: str, *, text: str, files: list[dict[str, Any]], agent: str | None,
               model: str | None, options: dict[str, Any] | None = None,
               mentions: list[dict[str, Any]] | None = None) -> None:
        # A mentioned file goes along as an attached text file (this engine has no agents to mention).
        for mention in mentions or []:
            if mention["type"] == "file":
                data = Path(mention["path"]).read_bytes()[:MENTION_BYTES]
                files = [*files, {"name": mention["relative"], "mime": "text/plain",
                                  "data": base64.b64encode(data).decode("ascii")}]
        session_id = self._sink.session_for(ENGINE, engine_ref)
        if session_id is None:
            raise EngineError("No such Anthropic session.", 409, "unknown_session")
        client = self.client()
        with self._lock:
            if self._stopping:
                raise EngineError("Nexus is shutting down.", 503, "stopping")
            if engine_ref in self._turns:
                raise EngineError("The agent is still working on the last message. Stop it or wait.", 409, "busy")
            turn = _Turn(session_id)
            self._turns[engine_ref] = turn
        self._user_message(session_id, text, files, agent, model)
        turn.thread = threading.Thread(target=self._run_turn, name=f"nexus-anthropic-{engine_ref[-6:]}",
                                       args=(engine_ref, turn, client, agent, model or pricing.default_model(),
                                             dict(options or {})), daemon=True)
        self._sink.emit(session_id, ev.SESSION_STATUS, {"status": "busy"})
        turn.thread.start()

    def abort(self, engine_ref: str) -> None:
        with self._lock:
            turn = self._turns.get(engine_ref)
        if turn is not None:
            self._cancel(turn)

    def _cancel(self, turn: _Turn) -> None:
        turn.cancel.set()
        stream = turn.stream
        if stream is not None:
            # Closing the response from another thread does not wake a read blocked between
            # events; shutting the socket down does. The turn then sees `cancel` and keeps
            # what streamed so far.
            try:
                network = stream.response.extensions.get("network_stream")
                sock = network.get_extra_info("socket") if network is not None else None
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: the reader has ended by itself

    def commands(self, engine_ref: str | None = None) -> list[dict[str, Any]]:
        return []  # no slash commands in the built-in engine

    def command(self, engine_ref: str, *, name: str, arguments: str, agent: str | None, model: str | None) -> None:
        raise EngineError("This session's engine has no slash commands.", 404, "unknown_command")

    def compact(self, engine_ref: str, model: str) -> None:
        raise EngineError("This session's engine cannot compact a conversation.", 400, "not_supported")

    def subagents(self) -> list[dict[str, Any]]:
        return []

    def find_files(self, query: str, directory: str | None, limit: int = 20) -> list[str]:
        raise EngineError("This session's engine has no project to search.", 400, "not_supported")

    def answer_question(self, engine_ref: str, question: dict[str, Any], answers: list[list[str]] | None) -> None:
        # The built-in engine has no question tool, so no question of its can be pending.
        raise EngineError("This session's engine does not ask questions.", 409, "not_pending")

    def reply_permission(self, engine_ref: str, permission_id: str, reply: str, message: str | None) -> None:
        with self._lock:
            turn = self._turns.get(engine_ref)
        waiting = turn.permissions.get(permission_id) if turn else None
        if waiting is None:
            raise EngineError("That permission request is not pending any more.", 409, "not_pending")
        waiting.reply, waiting.message = reply, message
        waiting.answered.set()

    def rename(self, engine_ref: str, title: str) -> None:
        pass  # the title lives in Nexus only

    def delete(self, engine_ref: str) -> None:
        self.abort(engine_ref)
        self._always.pop(engine_ref, None)

    def models(self) -> list[dict[str, Any]]:
        return pricing.models()

    def agents(self) -> list[dict[str, Any]]:
        return []  # Anthropic has no built-in agents; named agents come from Nexus's agent configurations

    # ----- one turn -------------------------------------------------------------------------------

    def _user_message(self, session_id: str, text: str, files: list[dict[str, Any]], agent: str | None,
                      model: str | None) -> None:
        now = time.time()
        state = self._sink.transcript_state(session_id)
        if not state.get("messages") and text and (state.get("session") or {}).get("title") == "New session":
            # Untitled sessions are named after their first message (OpenCode has a title agent for this).
            title = " ".join(text.split())
            title = title if len(title) <= 60 else title[:59].rstrip() + "…"
            self._sink.emit(session_id, ev.SESSION_UPDATED, {"session": {"title": title}})
        message_id = _id("msg")
        self._sink.emit(session_id, ev.MESSAGE_START, {"message": {"id": message_id, "role": "user",
                                                                   "created_at": now, "agent": agent,
                                                                   "model": model}})
        if text:
            self._sink.emit(session_id, ev.PART_UPDATE, {"message_id": message_id,
                                                         "part": {"id": _id("prt"), "kind": "text", "text": text}})
        for f in files:
            self._sink.emit(session_id, ev.PART_UPDATE, {"message_id": message_id, "part": {
                "id": _id("prt"), "kind": "file", "mime": f["mime"], "filename": f["name"],
                "url": f"data:{f['mime']};base64,{f['data']}"}})
        self._sink.emit(session_id, ev.MESSAGE_END, {"message_id": message_id, "finish": None, "completed_at": now})

    def _run_turn(self, ref: str, turn: _Turn, client: anthropic.Anthropic, agent: str | None, model: str,
                  options: dict[str, Any]) -> None:
        sid = turn.session_id
        try:
            state = self._sink.transcript_state(sid)
            root = Path((state.get("session") or {}).get("directory") or self._workspace())
            root.mkdir(parents=True, exist_ok=True)
            tools = WorkspaceTools(root, command_timeout=float(self._settings.current.anthropic.command_timeout))
            for _ in range(MAX_STEPS):
                step = _Step(self, turn, client, agent, model, options)
                if not step.stream_response():
                    break
                if not step.run_tools(tools, self._always.setdefault(ref, set())):
                    break
        except Exception:
            log.exception("the Anthropic turn of %s failed", sid)
            self._sink.emit(sid, ev.ERROR, {"message": "The Anthropic engine failed unexpectedly; see the log.",
                                            "code": "engine_error"})
        finally:
            with self._lock:
                self._turns.pop(ref, None)
            self._sink.emit(sid, ev.SESSION_STATUS, {"status": "idle"})


class _Step:
    """One streamed response and the tool calls it makes."""

    def __init__(self, engine: AnthropicEngine, turn: _Turn, client: anthropic.Anthropic, agent: str | None,
                 model: str, options: dict[str, Any]) -> None:
        self.engine, self.turn, self.client = engine, turn, client
        self.agent, self.model, self.options = agent, model, options
        self.sid = turn.session_id
        self.message_id = _id("msg")
        self.parts: dict[int, dict[str, Any]] = {}  # content block index -> part
        self.json: dict[int, str] = {}
        self.tokens = ev.empty_tokens()
        self.output_chars = 0
        self.got_output_count = False
        self.stop_reason: str | None = None

    def emit(self, type_: str, data: dict[str, Any]) -> None:
        self.engine._sink.emit(self.sid, type_, data)

    def request(self) -> dict[str, Any]:
        o = self.options
        max_tokens = int(o.get("max_tokens") or DEFAULT_MAX_TOKENS)
        params: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens,
                                  "messages": rebuild(self.engine._sink.transcript_state(self.sid)["messages"])}
        if o.get("system"):
            params["system"] = o["system"]
        tool_defs = definitions(o.get("tools"))
        if tool_defs:
            params["tools"] = tool_defs
        budget = int(o.get("thinking_budget") or 0)
        if budget >= 1024:
            params["thinking"] = {"type": "enabled", "budget_tokens": budget}
            params["max_tokens"] = max(max_tokens, budget + 1024)  # the budget is part of max_tokens
        elif o.get("temperature") is not None:  # thinking requires the default temperature
            params["temperature"] = float(o["temperature"])
        return params

    # ----- streaming ------------------------------------------------------------------------------

    def stream_response(self) -> bool:
        """Stream one response; True when the model asked for tools and nothing stopped it."""
        self.emit(ev.MESSAGE_START, {"message": {"id": self.message_id, "role": "assistant", "created_at": time.time(),
                                                 "agent": self.agent, "model": self.model}})
        try:
            with self.client.messages.stream(**self.request()) as stream:
                self.turn.stream = stream
                if self.turn.cancel.is_set():
                    return self.stopped()
                for event in stream:
                    if self.turn.cancel.is_set():
                        break
                    self.on_event(event)
        except (_sdk().APIError, OSError) as exc:
            if not self.turn.cancel.is_set():
                return self.failed(exc)
        except Exception:
            if not self.turn.cancel.is_set():
                raise
        finally:
            self.turn.stream = None
        if self.turn.cancel.is_set():
            return self.stopped()
        self.report_usage(estimated=False)
        tool_parts = self.tool_parts()
        if self.stop_reason == "tool_use" and tool_parts:
            return True
        finish = {"end_turn": "stop", "max_tokens": "length", "stop_sequence": "stop"}.get(self.stop_reason or "",
                                                                                            self.stop_reason)
        error = ({"name": "length", "message": "The reply hit this agent's max tokens and was cut short."}
                 if self.stop_reason == "max_tokens" else None)
        self.end(finish, error)
        return False

    def on_event(self, event: Any) -> None:
        kind = event.type
        if kind == "message_start":
            usage = event.message.usage
            self.tokens.update(input=usage.input_tokens or 0,
                               cache_read=getattr(usage, "cache_read_input_tokens", None) or 0,
                               cache_write=getattr(usage, "cache_creation_input_tokens", None) or 0)
        elif kind == "content_block_start":
            self.block_start(event.index, event.content_block)
        elif kind == "content_block_delta":
            self.block_delta(event.index, event.delta)
        elif kind == "content_block_stop":
            self.block_stop(event.index)
        elif kind == "message_delta":
            self.stop_reason = event.delta.stop_reason
            usage = event.usage
            if usage.output_tokens is not None:
                self.tokens["output"] = usage.output_tokens
                self.got_output_count = True
            for ours, theirs in (("input", "input_tokens"), ("cache_read", "cache_read_input_tokens"),
                                 ("cache_write", "cache_creation_input_tokens")):
                if getattr(usage, theirs, None) is not None:
                    self.tokens[ours] = getattr(usage, theirs)

    def block_start(self, index: int, block: Any) -> None:
        if block.type == "text":
            part = {"id": _id("prt"), "kind": "text", "text": block.text or ""}
        elif block.type == "thinking":
            part = {"id": _id("prt"), "kind": "reasoning", "text": block.thinking or ""}
        elif block.type == "redacted_thinking":
            part = {"id": _id("prt"), "kind": "reasoning", "text": "(Some reasoning was redacted by Anthropic.)",
                    "redacted": block.data}
        elif block.type == "tool_use":
            part = {"id": _id("prt"), "kind": "tool", "tool": block.name, "call_id": block.id, "status": "pending",
                    "input": {}, "output": None, "error": None, "title": None, "metadata": {},
                    "started_at": time.time(), "ended_at": None}
            self.parts[index] = part
            self.json[index] = ""
            self.emit(ev.TOOL_START, {"message_id": self.message_id, "part": dict(part)})
            return
        else:
            return  # server tools and citations are not offered by this engine
        self.parts[index] = part
        self.emit(ev.PART_UPDATE, {"message_id": self.message_id, "part": dict(part)})

    def block_delta(self, index: int, delta: Any) -> None:
        part = self.parts.get(index)
        if part is None:
            return
        if delta.type == "text_delta":
            part["text"] += delta.text
            self.output_chars += len(delta.text)
            self.emit(ev.TEXT_DELTA, {"message_id": self.message_id, "part_id": part["id"], "delta": delta.text})
        elif delta.type == "thinking_delta":
            part["text"] += delta.thinking
            self.output_chars += len(delta.thinking)
            self.emit(ev.REASONING_DELTA, {"message_id": self.message_id, "part_id": part["id"],
                                           "delta": delta.thinking})
        elif delta.type == "signature_delta":
            part["signature"] = part.get("signature", "") + delta.signature
        elif delta.type == "input_json_delta":
            self.json[index] += delta.partial_json
            self.output_chars += len(delta.partial_json)

    def block_stop(self, index: int) -> None:
        part = self.parts.get(index)
        if part is None:
            return
        if part["kind"] == "tool":
            try:
                part["input"] = json.loads(self.json.get(index) or "{}")
            except ValueError:
                part["input"] = {}
                part["status"], part["error"] = "error", "The model sent tool input that is not valid JSON."
            part["title"] = _subject(part["input"])
            self.emit(ev.TOOL_UPDATE, {"message_id": self.message_id, "part": dict(part)})
        else:
            self.emit(ev.PART_UPDATE, {"message_id": self.message_id, "part": dict(part)})

    def tool_parts(self) -> list[dict[str, Any]]:
        return [p for _, p in sorted(self.parts.items()) if p["kind"] == "tool"]

    # ----- endings --------------------------------------------------------------------------------

    def report_usage(self, *, estimated: bool) -> None:
        if estimated and not self.got_output_count:
            self.tokens["output"] = max(self.tokens["output"], round(self.output_chars / 4))
        cost = pricing.cost_of(self.model, self.tokens)
        self.emit(ev.USAGE, {"message_id": self.message_id, "tokens": dict(self.tokens), "cost": cost,
                             "estimated": estimated})

    def end(self, finish: str | None, error: dict[str, Any] | None = None) -> None:
        self.emit(ev.MESSAGE_END, {"message_id": self.message_id, "finish": finish, "error": error,
                                   "completed_at": time.time()})

    def stopped(self) -> bool:
        for part in self.tool_parts():
            if part["status"] in ("pending", "running"):
                self.finish_tool(part, error="Stopped before it ran.")
        for part in self.parts.values():  # keep what streamed, authoritative
            if part["kind"] != "tool":
                self.emit(ev.PART_UPDATE, {"message_id": self.message_id, "part": dict(part)})
        self.report_usage(estimated=True)
        self.end("aborted", STOPPED)
        return False

    def failed(self, exc: BaseException) -> bool:
        code, message = describe(exc, self.engine.base_url)
        log.warning("Anthropic request failed (%s): %s", code, type(exc).__name__)
        # Shown on the failed message itself (a separate `error` event would show it twice).
        error: dict[str, Any] = {"name": code, "message": message}
        wait = retry_after(exc)
        if code == "rate_limited" and wait is not None:
            error["retry_after"] = wait
        for part in self.tool_parts():
            if part["status"] in ("pending", "running"):
                self.finish_tool(part, error="Not run: the reply failed.")
        if self.parts:
            self.report_usage(estimated=True)
        self.end("error", error)
        return False

    # ----- tools ----------------------------------------------------------------------------------

    def run_tools(self, tools: WorkspaceTools, always: set[str]) -> bool:
        """Run the requested tools in order; True to send the results back to the model."""
        enabled = self.options.get("tools")
        for part in self.tool_parts():
            if part["status"] == "error":
                self.finish_tool(part, error=part["error"])
                continue
            if self.turn.cancel.is_set():
                self.finish_tool(part, error="Stopped before it ran.")
                continue
            name = part["tool"]
            if enabled is not None and name not in enabled:
                self.finish_tool(part, error=f"The tool {name!r} is not enabled for this agent.")
                continue
            if name in NEEDS_PERMISSION and name not in always:
                reply, note = self.ask(part)
                if reply == "always":
                    always.add(name)
                elif reply != "once":
                    denied = "Stopped before it ran." if self.turn.cancel.is_set() else \
                        "The user denied this." + (f" They said: {note}" if note else "")
                    self.finish_tool(part, error=denied)
                    continue
            part["status"] = "running"
            self.emit(ev.TOOL_UPDATE, {"message_id": self.message_id, "part": dict(part)})
            try:
                outcome = tools.run(name, part["input"], cancel=self.turn.cancel, on_output=self.live_output(part))
            except ToolError as exc:
                self.finish_tool(part, error=str(exc))
                continue
            self.finish_tool(part, output=outcome.output, title=outcome.title, metadata=outcome.metadata)
        if self.turn.cancel.is_set():
            self.end("aborted", STOPPED)
            return False
        self.end("tool-calls")
        return True

    def live_output(self, part: dict[str, Any]) -> Callable[[str], None]:
        """A command's output so far, shown while it runs (at most ~5 updates a second)."""
        last = [0.0]

        def on_output(chunk: str) -> None:
            part["output"] = (part.get("output") or "") + chunk
            now = time.monotonic()
            if now - last[0] >= OUTPUT_EVERY:
                last[0] = now
                self.emit(ev.TOOL_UPDATE, {"message_id": self.message_id, "part": dict(part)})

        return on_output

    def ask(self, part: dict[str, Any]) -> tuple[str, str | None]:
        permission_id = _id("per")
        waiting = _Permission()
        self.turn.permissions[permission_id] = waiting
        subject = part.get("title") or part["tool"]
        metadata = {k: v for k, v in part["input"].items() if k in ("filePath", "command", "oldString", "newString")}
        self.emit(ev.PERMISSION_ASKED, {"permission": {
            "id": permission_id, "tool": part["tool"], "title": subject, "patterns": [subject],
            "always": [part["tool"]], "metadata": metadata, "call_id": part["call_id"],
            "message_id": self.message_id}})
        self.emit(ev.SESSION_STATUS, {"status": "waiting"})
        while not waiting.answered.wait(0.1):
            if self.turn.cancel.is_set():
                break
        self.turn.permissions.pop(permission_id, None)
        reply = waiting.reply if waiting.answered.is_set() else "reject"
        self.emit(ev.PERMISSION_ANSWERED, {"permission_id": permission_id, "reply": reply})
        self.emit(ev.SESSION_STATUS, {"status": "busy"})
        return reply, waiting.message

    def finish_tool(self, part: dict[str, Any], *, output: str | None = None, error: str | None = None,
                    title: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        part.update(status="error" if error is not None else "completed", output=output, error=error,
                    ended_at=time.time())
        if title:
            part["title"] = title
        if metadata:
            part["metadata"] = metadata
        self.emit(ev.TOOL_END, {"message_id": self.message_id, "part": dict(part)})


def _subject(args: dict[str, Any]) -> str | None:
    for key in ("command", "filePath", "path", "pattern"):
        if isinstance(args.get(key), str):
            return args[key][:200]
    return None


def _id(prefix: str) -> str:
    # Sortable like OpenCode's ids: messages in one session order by time, then id.
    return f"{prefix}_{time.time_ns():x}{uuid.uuid4().hex[:8]}"


def _sdk():
    """The SDK, imported on first use: it takes most of a second to import, and `nexus serve`
    should not pay that at start-up when nobody uses this engine."""
    import anthropic

    return anthropic
