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
from typing import Any

from nexus.chat.engines.base import EngineError, EngineSink
from nexus.chat.engines.opencode_mapper import OpenCodeMapper, model_of
from nexus.server.client import OpenCodeClient, OpenCodeError
from nexus.server.supervisor import NotRunning, Supervisor

log = logging.getLogger(__name__)

ENGINE = "opencode"
# OpenCode's built-in tools, which a named agent may switch off (the prompt's `tools` field).
OPENCODE_TOOLS = ("bash", "edit", "write", "read", "grep", "glob", "list", "patch", "webfetch", "todowrite",
                  "todoread", "task")
SILENCE_LIMIT = 15.0


class OpenCodeEngine:
    name = ENGINE

    def __init__(self, supervisor: Supervisor, sink: EngineSink) -> None:
        self._supervisor = supervisor
        self._sink = sink
        self.mapper = OpenCodeMapper()
        self._mapper_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.reconnects = 0
        self._response: Any = None

    # ----- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._follow, name="nexus-opencode-events", daemon=True)
            self._thread.start()

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

    def _client(self) -> OpenCodeClient:
        try:
            return self._supervisor.client
        except NotRunning as exc:
            raise EngineError(f"{exc} Start it on the Dashboard (OpenCode server, Start).", 503, "server_not_running") from exc

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
        with client.stream("GET", "/global/event", read_timeout=SILENCE_LIMIT) as response:
            self._response = response
            buffer: list[str] = []
            for line in response.iter_lines():
                if self._stop.is_set() or self._current_client() is not client:
                    return  # stopping, or the server was restarted: follow the new one
                if line.startswith("data:"):
                    buffer.append(line[5:].lstrip())
                elif not line and buffer:
                    raw, buffer = "\n".join(buffer), []
                    self._handle(client, raw)
        raise OpenCodeError("the event stream closed")

    def _handle(self, client: OpenCodeClient, raw: str) -> None:
        if '"type":"sync"' in raw[:200]:
            return  # /global/event repeats events as sync records; parsing them costs relay time
        try:
            envelope = json.loads(raw)
        except ValueError:
            log.warning("unreadable event from OpenCode: %.200s", raw)
            return
        payload = envelope.get("payload", envelope)
        if payload.get("type") == "server.connected":
            self.reconnects += 1
            self.reconcile(client)
            self.connected.set()
            return
        with self._mapper_lock:
            emitted = self.mapper.on_event(payload)
        self._deliver(emitted)

    def _deliver(self, emitted: list[tuple[str, str, dict[str, Any]]]) -> None:
        for ref, type_, data in emitted:
            session_id = self._sink.session_for(ENGINE, ref)
            if session_id is not None:  # sessions Nexus did not create (the TUI's) are not ours
                self._sink.emit(session_id, type_, data)

    def reconcile(self, client: OpenCodeClient | None = None) -> None:
        """Catch up on everything that happened while Nexus was not listening."""
        client = client or self._client()
        sessions = self._sink.live_sessions(ENGINE)
        if not sessions:
            return
        try:
            busy = client.json("GET", "/session/status") or {}
            pending = client.json("GET", "/permission") or []
        except OpenCodeError as exc:
            log.warning("could not reconcile with OpenCode: %s", exc)
            return
        for session_id, ref in sessions:
            try:
                messages = client.json("GET", f"/session/{ref}/message")
            except OpenCodeError as exc:
                if exc.status == 404:
                    log.warning("OpenCode no longer has session %s; Nexus keeps its own copy", ref)
                    continue
                log.warning("could not fetch messages of %s: %s", ref, exc)
                continue
            with self._mapper_lock:
                self.mapper.seed(ref, self._sink.transcript_state(session_id))
                emitted = self.mapper.reconcile(ref, messages or [], busy.get(ref),
                                                [p for p in pending if p.get("sessionID") == ref])
            self._deliver(emitted)

    # ----- commands -------------------------------------------------------------------------------

    def create_session(self, *, title: str | None, agent: str | None, model: str | None,
                       options: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"title": title} if title else {}
        if agent:
            body["agent"] = agent
        if model:
            body["model"] = _model_ref(model, "id")
        info = self._call("POST", "/session", json=body)
        return {"engine_ref": info["id"], "directory": info.get("directory"), "title": title}

    def prompt(self, engine_ref: str, *, text: str, files: list[dict[str, Any]], agent: str | None,
               model: str | None, options: dict[str, Any] | None = None) -> None:
        parts: list[dict[str, Any]] = []
        if text:
            parts.append({"type": "text", "text": text})
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
        self._call("POST", f"/session/{engine_ref}/prompt_async", json=body)

    def abort(self, engine_ref: str) -> None:
        self._call("POST", f"/session/{engine_ref}/abort")
        # OpenCode keeps a permission request of an aborted run pending forever: reject it.
        for permission in self._call("GET", "/permission") or []:
            if permission.get("sessionID") == engine_ref:
                try:
                    self._call("POST", f"/permission/{permission['id']}/reply", json={"reply": "reject"})
                except EngineError:
                    pass

    def reply_permission(self, engine_ref: str, permission_id: str, reply: str, message: str | None) -> None:
        body: dict[str, Any] = {"reply": reply}
        if message:
            body["message"] = message
        self._call("POST", f"/permission/{permission_id}/reply", json=body)

    def rename(self, engine_ref: str, title: str) -> None:
        self._call("PATCH", f"/session/{engine_ref}", json={"title": title})

    def delete(self, engine_ref: str) -> None:
        try:
            self._call("DELETE", f"/session/{engine_ref}")
        except EngineError as exc:
            if exc.status != 404:
                raise

    def models(self) -> list[dict[str, Any]]:
        body = self._call("GET", "/config/providers") or {}
        defaults = body.get("default") or {}
        out = []
        for provider in body.get("providers") or []:
            for model_id, model in (provider.get("models") or {}).items():
                out.append({"id": f"{provider['id']}/{model_id}", "name": model.get("name") or model_id,
                            "provider": provider.get("name") or provider["id"],
                            "default": defaults.get(provider["id"]) == model_id})
        return out

    def agents(self) -> list[dict[str, Any]]:
        return [{"name": a["name"], "description": a.get("description") or "", "model": model_of(a)}
                for a in self._call("GET", "/agent") or []
                if a.get("mode") in ("primary", "all") and not a.get("hidden")]

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self._client().json(method, path, **kwargs)
        except OpenCodeError as exc:
            status = exc.status or 502
            raise EngineError(str(exc), 404 if status == 404 else 502, "opencode_error") from exc


def _model_ref(model: str, id_key: str) -> dict[str, str]:
    """"provider/model" as OpenCode wants it (sessions say `id`, prompts say `modelID`)."""
    provider, _, model_id = model.partition("/")
    return {"providerID": provider, id_key: model_id}
