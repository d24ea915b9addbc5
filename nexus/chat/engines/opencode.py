"""The OpenCode engine: drives sessions over OpenCode's HTTP API and follows its one
`/global/event` stream, demultiplexed to Nexus sessions.

OpenCode does not replay events, so on every (re)connect the engine re-fetches the state
of the sessions Nexus has open (messages, busy status, pending permissions) and emits
whatever changed. The stream is reopened 250 ms to 1 s after it breaks, and after 15 s
without a byte (OpenCode sends a heartbeat every 10 s).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from nexus.chat import events as ev
from nexus.chat.engines.base import EngineError, EngineSink
from nexus.chat.engines.opencode_mapper import OpenCodeMapper, diff_file_of, model_of, revert_of, todo_of
from nexus.server.client import OpenCodeClient, OpenCodeError
from nexus.server.supervisor import NotRunning, Supervisor
from nexus.servers.scoped import DirectoryClient

log = logging.getLogger(__name__)

ENGINE = "opencode"
# OpenCode's built-in tools, which a named agent may switch off (the prompt's `tools` field).
OPENCODE_TOOLS = ("bash", "edit", "write", "read", "grep", "glob", "list", "patch", "webfetch", "todowrite",
                  "todoread", "task")
SILENCE_LIMIT = 15.0
CATCH_UP_LIMIT = 50  # sessions looked at when (re)connecting to a server
# OpenCode answers a command or a compaction only when the whole reply is written.
LONG_CALL_LIMIT = 1800.0
STALE_CHECK = 30.0  # seconds between checks for sessions stuck "working" (see _catch_up_stale)


class OpenCodeEngine:
    name = ENGINE

    def __init__(self, supervisor: Supervisor | Any, sink: EngineSink, server_id: str = "local") -> None:
        # `supervisor`: the spawned server's Supervisor, or an attached server (nexus.servers):
        # anything with a `client` that raises NotRunning while the server cannot be used.
        self._supervisor = supervisor
        self._sink = sink
        self.server_id = server_id
        # Sessions of other clients that are not adopted (sub-agents, or adoption is off).
        self._foreign: set[str] = set()
        self.mapper = OpenCodeMapper()
        self._mapper_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.reconnects = 0
        self._response: Any = None
        # The OpenCode client the stream last followed: a different one at the next connect
        # means OpenCode was restarted; none means Nexus itself (re)started.
        self._last_client: OpenCodeClient | None = None
        self._lost_server = False  # replies were closed when OpenCode went away
        self._long_calls: ThreadPoolExecutor | None = None
        self._last_stale_check = 0.0  # time.monotonic() of the last _catch_up_stale round
        # OpenCode session -> time.monotonic() of its last event or prompt (see _catch_up_stale).
        self._last_heard: dict[str, float] = {}

    # ----- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            name = "nexus-opencode-events" + ("" if self.server_id == "local" else f"-{self.server_id}")
            self._thread = threading.Thread(target=self._follow, name=name, daemon=True)
            self._thread.start()
        if self._long_calls is None:
            self._long_calls = ThreadPoolExecutor(max_workers=4, thread_name_prefix="nexus-opencode-long-call")

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        # The reader blocks until OpenCode's next heartbeat (10 s); closing the response
        # wakes it now, and lets OpenCode shut down without waiting for this connection.
        response = self._response
        if response is not None:
            try:
                response.close()
            except Exception:  # closing from another thread may race the reader; either way it ends
                pass
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._long_calls is not None:
            # A running call ends when OpenCode stops (or its own time limit); none is waited for.
            self._long_calls.shutdown(wait=False, cancel_futures=True)
            self._long_calls = None

    def _client(self) -> OpenCodeClient:
        try:
            return self._supervisor.client
        except NotRunning as exc:
            raise EngineError(f"{exc} Start it on the Dashboard (OpenCode server, Start).", 503, "server_not_running") from exc

    def _scoped(self, engine_ref: str | None = None, directory: str | None = None) -> DirectoryClient:
        """The server's client bound to the session's project folder (every call names it)."""
        if directory is None and engine_ref is not None:
            directory = self._sink.directory_for(ENGINE, engine_ref)
        return DirectoryClient(self._client(), directory)

    def _current_client(self) -> OpenCodeClient | None:
        try:
            return self._supervisor.client
        except NotRunning:
            return None

    # ----- the event stream -----------------------------------------------------------------------

    def _follow(self) -> None:
        delay = 0.25
        while not self._stop.is_set():
            try:
                client = self._supervisor.client
            except NotRunning:
                self.connected.clear()
                if self._last_client is not None and not self._lost_server and not self._stop.is_set():
                    self._lost_server = True
                    self.interrupt_all(self._server_gone_reason())
                self._stop.wait(0.25)
                continue
            try:
                self._consume(client)
                delay = 0.25
            except OpenCodeError as exc:
                if not self._stop.is_set():
                    log.info("OpenCode event stream ended (%s); reconnecting", exc)
            except Exception:
                log.exception("OpenCode event stream failed; reconnecting")
            self.connected.clear()
            self._stop.wait(delay)
            delay = min(delay * 2, 1.0)

    def _consume(self, client: OpenCodeClient) -> None:
        with client.events("/global/event", read_timeout=SILENCE_LIMIT) as stream:
            self._response = stream
            for batch in stream.batches():
                for envelope, payload in self._merged(self._parsed(batch)):
                    if self._stop.is_set() or self._current_client() is not client:
                        return  # stopping, or the server was restarted: follow the new one
                    self._handle(client, envelope, payload)
        raise OpenCodeError("the event stream closed")

    @staticmethod
    def _parsed(batch: list[bytes]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(envelope, payload) of each event that came in one read."""
        out = []
        for raw in batch:
            if b'"type":"sync"' in raw[:200]:
                continue  # /global/event repeats events as sync records; parsing them costs relay time
            try:
                envelope = orjson.loads(raw)
            except orjson.JSONDecodeError:
                try:  # what orjson refuses but Python's json reads (Infinity, NaN)
                    envelope = json.loads(raw.decode())
                except ValueError:  # UnicodeDecodeError too
                    log.warning("unreadable event from OpenCode: %.200r", raw)
                    continue
            if isinstance(envelope, dict):
                out.append((envelope, envelope.get("payload", envelope)))
        return out

    def _merged(self, events: list[tuple[dict[str, Any], dict[str, Any]]]
                ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The same events, with text deltas of one part merged when nothing else of their session
        came between them in this read: one event through the mapper and the hub instead of
        dozens (OpenCode writes a burst of ~2,000 deltas within 100 ms). Nothing waits for it:
        only what already arrived together is merged. Sessions Nexus does not know yet are
        left alone (their first event may adopt them)."""
        out: list[tuple[dict[str, Any], dict[str, Any], list[str] | None]] = []
        open_runs: dict[str, int] = {}  # OpenCode session -> index in `out` of its run of deltas
        for envelope, payload in events:
            props = payload.get("properties") or {}
            ref = props.get("sessionID")
            if (payload.get("type") == "message.part.delta" and props.get("field") == "text"
                    and isinstance(props.get("delta"), str) and isinstance(ref, str)
                    and self._sink.session_for(ENGINE, ref) is not None):
                at = open_runs.get(ref)
                if at is not None:
                    first, pieces = out[at][1]["properties"], out[at][2]
                    if (pieces is not None and first.get("messageID") == props.get("messageID")
                            and first.get("partID") == props.get("partID")):
                        pieces.append(props["delta"])
                        continue
                open_runs[ref] = len(out)
                out.append((envelope, payload, [props["delta"]]))
                continue
            about = _session_ref(payload)
            if about is None:
                open_runs.clear()  # may concern any session (a reconnect, a question): keep order
            else:
                open_runs.pop(about, None)
            out.append((envelope, payload, None))
        return [(envelope, payload if not pieces or len(pieces) == 1 else
                 {**payload, "properties": {**payload["properties"], "delta": "".join(pieces)}})
                for envelope, payload, pieces in out]

    def _handle(self, client: OpenCodeClient, envelope: dict[str, Any], payload: dict[str, Any]) -> None:
        if payload.get("type") == "server.heartbeat":
            self._catch_up_stale(client)
            return
        if payload.get("type") == "server.connected":
            self.reconnects += 1
            self.reconcile(client, interrupted=self._interrupt_reason(client))
            self._last_client, self._lost_server = client, False
            self._catch_up(client)
            self.connected.set()
            return
        if payload.get("type") == "session.created":
            self._adopt_child((payload.get("properties") or {}).get("info") or {})
        ref = _session_ref(payload)
        if ref:
            self._last_heard[ref] = time.monotonic()
        # A session another client of this server (the terminal UI, `opencode web`) is
        # driving: adopt it with its whole history; the reconcile covers this event too.
        if (ref and ref not in self._foreign and self._sink.session_for(ENGINE, ref) is None
                and self._adopt(client, ref, envelope.get("directory"))):
            return
        with self._mapper_lock:
            emitted = self.mapper.on_event(payload)
        self._deliver(emitted)

    def _deliver(self, emitted: list[tuple[str, str, dict[str, Any]]]) -> None:
        for ref, type_, data in emitted:
            session_id = self._sink.session_for(ENGINE, ref)
            if session_id is not None:  # sessions Nexus did not create (the TUI's) are not ours
                self._sink.emit(session_id, type_, self._with_child_session(data))

    def _catch_up_stale(self, client: OpenCodeClient) -> None:
        """A safety net, at most every STALE_CHECK seconds on OpenCode's heartbeat: a session
        Nexus shows as working that OpenCode lists as idle missed its end (a reconnect whose
        catch-up timed out on a loaded machine, say): catch it up now, so nothing stays stuck."""
        now = time.monotonic()
        if now - self._last_stale_check < STALE_CHECK:
            return
        self._last_stale_check = now
        working = [(sid, ref) for sid, ref in self._sink.live_sessions(ENGINE, server=self.server_id)
                   if (self._sink.transcript_state(sid).get("status") or {}).get("status") in ("busy", "retry",
                                                                                                "waiting")]
        if not working:
            return
        busy: dict[str, Any] = {}
        try:  # OpenCode keeps busy states per project folder
            for folder in {self._sink.directory_for(ENGINE, ref) for _, ref in working}:
                busy.update(DirectoryClient(client, folder).json("GET", "/session/status") or {})
        except OpenCodeError as exc:
            log.info("could not check for stale sessions: %s", exc)
            return
        # OpenCode's REST answers can run seconds ahead of its event stream on a loaded machine:
        # a reply it finished may still be on its way. Only a session quiet for a while is stuck.
        stale = [(sid, ref) for sid, ref in working
                 if ref not in busy and now - self._last_heard.get(ref, 0.0) >= STALE_CHECK]
        if stale:
            log.warning("%d sessions shown as working are idle in OpenCode; catching up", len(stale))
            self.reconcile(client, interrupted="OpenCode no longer runs this reply.", only=stale)

    def _interrupt_reason(self, client: OpenCodeClient) -> str:
        """Why a reply OpenCode no longer runs was cut off, in words for the transcript."""
        if self._last_client is None:
            return "Nexus was restarted before the reply finished."
        if client is not self._last_client:
            last = (self._supervisor.history(1) or [{}])[0]
            why = f" ({last['reason']}: {last.get('detail') or ''})".replace(": )", ")") if last.get("reason") else ""
            return f"OpenCode was restarted{why}."
        return "the connection to OpenCode dropped and OpenCode no longer runs this reply."

    def _server_gone_reason(self) -> str:
        status = self._supervisor.status()
        state, detail = status["state"], status.get("last_error")
        if state in ("starting", "stopping", "stopped") and not detail:
            return "OpenCode was stopped or restarted." if state != "stopped" else "OpenCode was stopped."
        return f"OpenCode {state}" + (f" ({detail})." if detail else ".")

    def interrupt_all(self, reason: str) -> None:
        """Close the open replies of every live session now (OpenCode is gone); what OpenCode
        kept of them is fetched when it is back (reconcile)."""
        emitted = []
        for session_id, ref in self._sink.live_sessions(ENGINE, server=self.server_id):
            with self._mapper_lock:
                self.mapper.seed(ref, self._sink.transcript_state(session_id))
                emitted += self.mapper.interrupt(ref, reason) + self.mapper.status(ref, {"type": "idle"})
        if emitted:
            log.warning("closed %d open replies: %s", sum(1 for _, t, _ in emitted if t == "message.end"), reason)
        self._deliver(emitted)

    def _catch_up(self, client: OpenCodeClient) -> None:
        """Adopt the recent sessions other clients started while Nexus was not following this
        server (the live case is `_adopt` on their first event)."""
        since = self._sink.adopt_since()
        if since is None:
            return
        try:
            sessions = client.json("GET", "/experimental/session",
                                   params={"roots": "true", "limit": CATCH_UP_LIMIT}, timeout=10.0) or []
        except OpenCodeError as exc:
            log.info("could not list OpenCode's sessions to catch up: %s", exc)
            return
        for info in sessions if isinstance(sessions, list) else []:
            ref = info.get("id") if isinstance(info, dict) else None
            updated = ((info.get("time") or {}).get("updated") or 0) / 1000 if ref else 0
            if (ref and not info.get("parentID") and updated >= since and ref not in self._foreign
                    and self._sink.session_for(ENGINE, ref) is None):
                self._adopt(client, ref, info.get("directory"))

    def _adopt(self, client: OpenCodeClient, ref: str, directory: str | None) -> bool:
        try:
            info = DirectoryClient(client, directory).json("GET", f"/session/{ref}", timeout=5.0)
        except OpenCodeError as exc:
            log.info("could not look at OpenCode session %s to adopt it: %s", ref, exc)
            return False
        if not isinstance(info, dict) or info.get("parentID"):
            self._foreign.add(ref)  # a sub-agent's session belongs to its parent's run
            return False
        session_id = self._sink.adopt(ENGINE, self.server_id, info)
        if session_id is None:
            self._foreign.add(ref)
            return False
        log.info("adopted OpenCode session %s (%s) as %s", ref, info.get("directory"), session_id)
        self.reconcile(client, only=[(session_id, ref)])
        return True

    def reconcile(self, client: OpenCodeClient | None = None, only: list[tuple[str, str]] | None = None, *,
                  interrupted: str | None = None) -> None:
        """Catch up on everything that happened while Nexus was not listening; a reply that
        OpenCode no longer runs is closed with `interrupted` as the reason."""
        client = client or self._client()
        sessions = only if only is not None else self._sink.live_sessions(ENGINE, server=self.server_id)
        if not sessions:
            return
        idle_since = time.time()
        # Busy status, pending permissions and questions are per project folder in OpenCode.
        by_folder: dict[str | None, tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = {}
        for session_id, ref in sessions:
            folder = self._sink.directory_for(ENGINE, ref)
            scoped = DirectoryClient(client, folder)
            if folder not in by_folder:
                try:
                    by_folder[folder] = (scoped.json("GET", "/session/status") or {},
                                         scoped.json("GET", "/permission") or [],
                                         scoped.json("GET", "/question") or [])
                except OpenCodeError as exc:
                    log.warning("could not reconcile with OpenCode: %s", exc)
                    return
            busy, pending, questions = by_folder[folder]
            try:
                messages = scoped.json("GET", f"/session/{ref}/message")
            except OpenCodeError as exc:
                if exc.status == 404:
                    log.warning("OpenCode no longer has session %s; Nexus keeps its own copy", ref)
                    continue
                log.warning("could not fetch messages of %s: %s", ref, exc)
                continue
            with self._mapper_lock:
                self.mapper.seed(ref, self._sink.transcript_state(session_id))
                emitted = self.mapper.reconcile(ref, messages or [], busy.get(ref),
                                                [p for p in pending if p.get("sessionID") == ref],
                                                [q for q in questions if q.get("sessionID") == ref],
                                                interrupted=interrupted, idle_since=idle_since)
            self._deliver(emitted)

    # ----- commands -------------------------------------------------------------------------------

    def create_session(self, *, title: str | None, agent: str | None, model: str | None,
                       options: dict[str, Any] | None = None, directory: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"title": title} if title else {}
        if agent:
            body["agent"] = agent
        if model:
            body["model"] = _model_ref(model, "id")
        info = self._call("POST", "/session", json=body, directory=directory or "")
        return {"engine_ref": info["id"], "directory": info.get("directory"), "title": title}

    def prompt(self, engine_ref: str, *, text: str, files: list[dict[str, Any]], agent: str | None,
               model: str | None, options: dict[str, Any] | None = None,
               mentions: list[dict[str, Any]] | None = None) -> None:
        parts: list[dict[str, Any]] = []
        if text:
            parts.append({"type": "text", "text": text})
        # @ mentions as OpenCode's own client sends them: the file by its file:// URL (OpenCode
        # reads it into the conversation), an agent as an agent part.
        for mention in mentions or []:
            if mention["type"] == "agent":
                parts.append({"type": "agent", "name": mention["name"]})
                continue
            label = "@" + mention["relative"]
            start = text.find(label)
            parts.append({"type": "file", "mime": "text/plain", "filename": mention["relative"],
                          "url": "file://" + mention["path"],
                          "source": {"type": "file", "path": mention["path"],
                                     "text": {"value": label, "start": max(start, 0),
                                              "end": max(start, 0) + len(label)}}})
        for f in files:
            parts.append({"type": "file", "mime": f["mime"], "filename": f["name"],
                          "url": f"data:{f['mime']};base64,{f['data']}"})
        body: dict[str, Any] = {"parts": parts}
        if agent:
            body["agent"] = agent
        if model:
            body["model"] = _model_ref(model, "modelID")
        # A named agent's system prompt and tool choice map onto OpenCode's prompt fields; its
        # temperature and token limits are OpenCode's own agent configuration, not per prompt.
        if options and options.get("system"):
            body["system"] = options["system"]
        if options and options.get("tools") is not None:
            body["tools"] = {name: name in options["tools"] for name in OPENCODE_TOOLS}
        self._last_heard[engine_ref] = time.monotonic()
        self._call("POST", f"/session/{engine_ref}/prompt_async", json=body, ref=engine_ref)

    def abort(self, engine_ref: str) -> None:
        self._call("POST", f"/session/{engine_ref}/abort", ref=engine_ref)
        # OpenCode keeps a permission request of an aborted run pending forever: reject it.
        for permission in self._call("GET", "/permission", ref=engine_ref) or []:
            if permission.get("sessionID") == engine_ref:
                try:
                    self._call("POST", f"/permission/{permission['id']}/reply", json={"reply": "reject"},
                               ref=engine_ref)
                except EngineError:
                    pass
        with self._mapper_lock:
            emitted = [e for q in self.mapper.detached_questions(engine_ref)
                       for e in self.mapper.question_answered(engine_ref, q["id"], None, True)]
        self._deliver(emitted)
        # A question too: the agent's run is over, nobody waits for the answer.
        for question in self._call("GET", "/question", ref=engine_ref) or []:
            if question.get("sessionID") == engine_ref:
                try:
                    self._call("POST", f"/question/{question['id']}/reject", ref=engine_ref)
                except EngineError:
                    pass

    def reply_permission(self, engine_ref: str, permission_id: str, reply: str, message: str | None) -> None:
        body: dict[str, Any] = {"reply": reply}
        if message:
            body["message"] = message
        self._call("POST", f"/permission/{permission_id}/reply", json=body, ref=engine_ref)

    def rename(self, engine_ref: str, title: str) -> None:
        self._call("PATCH", f"/session/{engine_ref}", json={"title": title}, ref=engine_ref)

    def delete(self, engine_ref: str) -> None:
        self._foreign.add(engine_ref)  # its last events must not adopt it again
        try:
            self._call("DELETE", f"/session/{engine_ref}", ref=engine_ref)
        except EngineError as exc:
            if exc.status != 404:
                raise

    def answer_question(self, engine_ref: str, question: dict[str, Any], answers: list[list[str]] | None) -> None:
        """Answer (answers) or dismiss (None) a pending question. A detached one (OpenCode
        lost it in a restart) is only settled here: the caller sends its answer as a message."""
        if question.get("detached"):
            with self._mapper_lock:
                emitted = self.mapper.question_answered(engine_ref, question["id"], answers, answers is None)
            self._deliver(emitted)
        elif answers is None:
            self._call("POST", f"/question/{question['id']}/reject", ref=engine_ref)
        else:
            self._call("POST", f"/question/{question['id']}/reply", json={"answers": answers}, ref=engine_ref)

    def commands(self, engine_ref: str | None = None) -> list[dict[str, Any]]:
        """OpenCode's slash commands: built-in, the project's own (of `engine_ref`'s folder),
        MCP prompts and skills."""
        return [{"name": c["name"], "description": c.get("description") or "", "source": c.get("source") or "command",
                 "hints": c.get("hints") or [], "agent": c.get("agent"), "model": c.get("model")}
                for c in self._call("GET", "/command", ref=engine_ref) or [] if c.get("name")]

    def command(self, engine_ref: str, *, name: str, arguments: str, agent: str | None, model: str | None) -> None:
        body: dict[str, Any] = {"command": name, "arguments": arguments}
        if agent:
            body["agent"] = agent
        if model:
            body["model"] = model
        self._in_background(engine_ref, f"The command /{name}", "POST", f"/session/{engine_ref}/command", json=body)

    def compact(self, engine_ref: str, model: str) -> None:
        provider, _, model_id = model.partition("/")
        self._in_background(engine_ref, "Compacting", "POST", f"/session/{engine_ref}/summarize",
                            json={"providerID": provider, "modelID": model_id})

    def _in_background(self, engine_ref: str, what: str, method: str, path: str, **kwargs: Any) -> None:
        """A call OpenCode answers only when the reply is done: its events show the progress,
        so it runs on the engine's pool and a failure comes back as an error event."""
        client = self._scoped(engine_ref)  # in the session's project folder
        if self._long_calls is None:
            raise EngineError("The OpenCode engine is not running.", 503, "engine_stopped")

        def run() -> None:
            try:
                client.json(method, path, timeout=LONG_CALL_LIMIT, **kwargs)
            except RuntimeError as exc:  # OpenCodeError, or the client closed as OpenCode stopped
                session_id = self._sink.session_for(ENGINE, engine_ref)
                if session_id is not None and not self._stop.is_set():
                    self._sink.emit(session_id, ev.ERROR, {"message": f"{what} failed: {exc}", "code": "command_failed"})

        self._long_calls.submit(run)

    def subagents(self) -> list[dict[str, Any]]:
        """Agents a message can hand work to with an @ mention (OpenCode's sub-agents)."""
        return [{"name": a["name"], "description": a.get("description") or ""}
                for a in self._call("GET", "/agent") or []
                if a.get("mode") in ("subagent", "all") and not a.get("hidden")]

    def find_files(self, query: str, directory: str | None, limit: int = 20) -> list[str]:
        params: dict[str, Any] = {"query": query, "dirs": "false", "limit": limit}
        if directory:
            params["directory"] = directory
        return [p for p in self._call("GET", "/find/file", params=params) or [] if isinstance(p, str)]

    def models(self) -> list[dict[str, Any]]:
        body = self._call("GET", "/config/providers") or {}
        defaults = body.get("default") or {}
        out = []
        for provider in body.get("providers") or []:
            for model_id, model in (provider.get("models") or {}).items():
                limit = model.get("limit") or {}
                out.append({"id": f"{provider['id']}/{model_id}", "name": model.get("name") or model_id,
                            "provider": provider.get("name") or provider["id"],
                            "default": defaults.get(provider["id"]) == model_id,
                            "context": int(limit.get("context") or 0), "output": int(limit.get("output") or 0)})
        return out

    def agents(self) -> list[dict[str, Any]]:
        return [{"name": a["name"], "description": a.get("description") or "", "model": model_of(a)}
                for a in self._call("GET", "/agent") or []
                if a.get("mode") in ("primary", "all") and not a.get("hidden")]

    def _call(self, method: str, path: str, *, ref: str | None = None, directory: str | None = None,
              **kwargs: Any) -> Any:
        """One call, scoped to session `ref`'s folder or to `directory` ("" = the server's own)."""
        try:
            return self._scoped(ref, directory).json(method, path, **kwargs)
        except OpenCodeError as exc:
            status = exc.status or 502
            raise EngineError(str(exc), 404 if status == 404 else 502, "opencode_error") from exc

    # ----- parity-b: sub-agents, undo and redo, fork, to-dos, diffs ----------------------------------

    def _adopt_child(self, info: dict[str, Any]) -> None:
        """A sub-agent session (the `task` tool) of a session Nexus follows becomes a Nexus
        session under its parent, before its first event arrives, so none is dropped."""
        parent_ref, child_ref = info.get("parentID"), info.get("id")
        if not parent_ref or not child_ref or self._sink.session_for(ENGINE, child_ref) is not None:
            return
        parent_id = self._sink.session_for(ENGINE, parent_ref)
        if parent_id is not None:
            self._sink.adopt_child(ENGINE, parent_id, child_ref, info)

    def _with_child_session(self, data: dict[str, Any]) -> dict[str, Any]:
        part = data.get("part")
        if not part or part.get("tool") != "task":
            return data
        child_ref = (part.get("metadata") or {}).get("sessionId")
        child = self._sink.session_for(ENGINE, child_ref) if child_ref else None
        return {**data, "part": {**part, "child_session": child}} if child else data

    def revert(self, engine_ref: str, message_id: str) -> dict[str, Any] | None:
        """Undo to before `message_id` (OpenCode restores the files from its snapshots)."""
        info = self._call("POST", f"/session/{engine_ref}/revert", json={"messageID": message_id}) or {}
        with self._mapper_lock:
            emitted = self.mapper.revert_state(engine_ref, info)
        self._deliver(emitted)
        return revert_of(info.get("revert"))

    def unrevert(self, engine_ref: str) -> None:
        info = self._call("POST", f"/session/{engine_ref}/unrevert") or {}
        with self._mapper_lock:
            emitted = self.mapper.revert_state(engine_ref, info)
        self._deliver(emitted)

    def fork(self, engine_ref: str, message_id: str | None) -> dict[str, Any]:
        """A new OpenCode session holding this one's messages before `message_id` (all without)."""
        body = {"messageID": message_id} if message_id else {}
        info = self._call("POST", f"/session/{engine_ref}/fork", json=body)
        return {"engine_ref": info["id"], "directory": info.get("directory"), "title": info.get("title")}

    def catch_up(self, session_id: str, engine_ref: str) -> None:
        """Load a session OpenCode filled before Nexus knew it (a fork, a sub-agent)."""
        messages = self._call("GET", f"/session/{engine_ref}/message") or []
        busy = (self._call("GET", "/session/status") or {}).get(engine_ref)
        with self._mapper_lock:
            # Its events may have passed through the mapper before Nexus knew the session (and
            # were not delivered): start from what Nexus holds, not from what the mapper saw.
            self.mapper.forget(engine_ref)
            self.mapper.seed(engine_ref, self._sink.transcript_state(session_id))
            emitted = self.mapper.reconcile(engine_ref, messages, busy, [])
        self._deliver(emitted)
        todos = self.todos(engine_ref)
        if todos:
            self._sink.emit(session_id, "todo.updated", {"todos": todos})

    def todos(self, engine_ref: str) -> list[dict[str, Any]]:
        return [todo_of(t) for t in self._call("GET", f"/session/{engine_ref}/todo") or []]

    def diff(self, engine_ref: str, message_id: str | None) -> list[dict[str, Any]]:
        params = {"messageID": message_id} if message_id else None
        return [diff_file_of(d) for d in self._call("GET", f"/session/{engine_ref}/diff", params=params) or []]


def _session_ref(payload: dict[str, Any]) -> str | None:
    """The OpenCode session an event is about, if any."""
    kind = str(payload.get("type") or "")
    if not kind.startswith(("session.", "message.", "permission.")) or kind == "session.deleted":
        return None
    props = payload.get("properties") or {}
    ref = props.get("sessionID") or (props.get("info") or {}).get("sessionID")
    if not ref and kind.startswith("session."):
        ref = (props.get("info") or {}).get("id")
    return ref if isinstance(ref, str) else None


def _model_ref(model: str, id_key: str) -> dict[str, str]:
    """"provider/model" as OpenCode wants it (sessions say `id`, prompts say `modelID`)."""
    provider, _, model_id = model.partition("/")
    return {"providerID": provider, id_key: model_id}
