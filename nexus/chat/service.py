"""The chat service: sessions, prompts, permissions and live streams, whatever the engine.

It owns the hub (numbering and fan-out), the transcript writer (persistence) and the
engines (which report events through `emit`). Views call it; it calls no view.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexus.bus import EventBus
from nexus.chat import events as ev
from nexus.chat.engines.base import Engine, EngineError
from nexus.chat.history import SessionHistory
from nexus.chat.hub import ChatHub, ClientStream
from nexus.chat.pending import QUESTION, PendingStore
from nexus.chat.questions import AnswerError, answer_text, check_answers
from nexus.chat.queue import PromptQueue, QueueError, shown
from nexus.chat.repository import ChatRepository
from nexus.chat.transcript import Transcript
from nexus.chat.writer import TranscriptWriter
from nexus.errors import ServiceError

log = logging.getLogger(__name__)

MAX_ACTIVE = 10
# Sessions of other OpenCode clients: adopted when Nexus (re)connects if used in the last day,
# and open on the home page if used in the last two hours (older ones come in archived).
ADOPT_WINDOW = 24 * 3600.0
ADOPT_ACTIVE_WINDOW = 2 * 3600.0
SESSIONS_TOPIC = "chat.sessions"
MAX_TITLE = 200
MAX_PROMPT_CHARS = 200_000
MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024


class ChatError(ServiceError):
    def __init__(self, message: str, status: int = 400, code: str = "bad_request", **details: Any) -> None:
        super().__init__(message, status, code, **details)


class ChatService:
    def __init__(self, repo: ChatRepository, bus: EventBus) -> None:
        self.repo = repo
        self._bus = bus
        self.engines: dict[str, Engine] = {}
        self.hub = ChatHub(self._load)
        self.writer = TranscriptWriter(self.hub, repo)
        self.pending = PendingStore(repo.db)
        self.queue = PromptQueue(self.pending, send=self._send_prompt, status_of=self._status_of, emit=self.emit)
        # Named agents (nexus/agents): agent id -> {engine, model, agent, options}; set by the runtime.
        self.agent_configs: Callable[[str], dict[str, Any]] | None = None
        # Every streamed token names its engine session; look each one up once.
        self._refs: dict[tuple[str, str], str | None] = {}
        self._dirs: dict[tuple[str, str], str | None] = {}
        # OpenCode engines of attached servers (nexus.servers), by server id; "local" is engines["opencode"].
        self.server_engines: dict[str, Engine] = {}
        # Set by the runtime: a server's state ("running", "unreachable", ...) and name, and
        # which sessions of other OpenCode clients to adopt ("all" or "nexus": none).
        self.server_info: Callable[[str], tuple[str, str]] = lambda server: ("running", server)
        self.adopt_policy: Callable[[], str] = lambda: "all"
        # Held while Nexus creates an engine session and stores it: OpenCode announces the new
        # session on its event stream before the create call returns, and adoption must then
        # find Nexus's own record instead of adopting a copy.
        self._claim_lock = threading.RLock()
        self._started = False
        self.history = SessionHistory(self)  # undo, redo, fork, edit; to-dos, sub-agents, diffs

    def add_engine(self, engine: Engine) -> None:
        self.engines[engine.name] = engine

    def add_server_engine(self, server_id: str, engine: Engine) -> None:
        old = self.server_engines.pop(server_id, None)
        if old is not None:
            old.stop()
        self.server_engines[server_id] = engine
        if self._started:
            engine.start()

    def remove_server_engine(self, server_id: str) -> None:
        engine = self.server_engines.pop(server_id, None)
        if engine is not None:
            engine.stop()

    def start(self) -> None:
        self._started = True
        self.writer.start()
        self.queue.start()
        for engine in [*self.engines.values(), *self.server_engines.values()]:
            engine.start()

    def stop(self) -> None:
        self._started = False
        for engine in [*self.engines.values(), *self.server_engines.values()]:
            engine.stop()
        self.queue.stop()
        self.writer.stop()

    # ----- what engines call (EngineSink) -----------------------------------------------------------

    def emit(self, session_id: str, type_: str, data: dict[str, Any]) -> None:
        event = self.hub.emit(session_id, type_, data)
        # Questions are rare and must outlive both Nexus and OpenCode: saved at once.
        if type_ == ev.QUESTION_ASKED:
            self.pending.put(session_id, QUESTION, data["question"]["id"], data["question"])
        elif type_ == ev.QUESTION_ANSWERED:
            self.pending.remove(data["question_id"])
        elif type_ == ev.SESSION_STATUS:
            self.queue.on_status(session_id, data["status"])
        if type_ == ev.MESSAGE_END:
            # Saved within milliseconds by the writer thread: saving here would stall the
            # relay of every session's events behind a database write.
            self.writer.wake()
        if type_ in (ev.SESSION_STATUS, ev.PERMISSION_ASKED, ev.QUESTION_ASKED, ev.SESSION_UPDATED, ev.MESSAGE_END):
            self._bus.publish("chat.session", session_id=session_id, type=type_, seq=event.seq,
                              status=self.hub.stream(session_id).transcript.status.get("status"))

    def session_for(self, engine: str, engine_ref: str) -> str | None:
        key = (engine, engine_ref)
        if key in self._refs:
            return self._refs[key]
        session = self.repo.find_by_engine_ref(engine, engine_ref)
        # setdefault, not assignment: `create` may have recorded the new session while this
        # looked it up, and a stale "not ours" must never replace it (that dropped every event).
        return self._refs.setdefault(key, session["id"] if session else None)

    def directory_for(self, engine: str, engine_ref: str) -> str | None:
        """The project folder of an engine session (None: the server's own folder)."""
        key = (engine, engine_ref)
        if self._dirs.get(key) is None:
            session = self.repo.find_by_engine_ref(engine, engine_ref)
            self._dirs[key] = session.get("directory") if session else None
        return self._dirs[key]

    def adopt_since(self) -> float | None:
        """How far back (epoch seconds) sessions of other clients are adopted when Nexus
        (re)connects to a server; None when adoption is off."""
        return None if self.adopt_policy() != "all" else time.time() - ADOPT_WINDOW

    def adopt(self, engine: str, server: str, info: dict[str, Any]) -> str | None:
        """Take a session another client of an OpenCode server started into the store, so it
        shows, streams and can be continued here. None when adoption is off or it was deleted
        here (deleting in Nexus only must not bring it back)."""
        if self.adopt_policy() != "all":
            return None
        ref = info.get("id")
        with self._claim_lock:
            if not isinstance(ref, str) or self.repo.find_by_engine_ref(engine, ref, include_deleted=True):
                return None
            return self._adopt(engine, server, ref, info)

    def _adopt(self, engine: str, server: str, ref: str, info: dict[str, Any]) -> str:
        times = info.get("time") or {}
        # Quiet for a while (found when catching up): kept, but among the archived ones.
        quiet = time.time() - (times.get("updated") or time.time() * 1000) / 1000 > ADOPT_ACTIVE_WINDOW
        session: dict[str, Any] = {
            "id": f"s_{uuid.uuid4().hex[:20]}", "engine": engine, "engine_ref": ref,
            "title": _clean_title(info.get("title")) or "New session", "agent": None, "model": None,
            "directory": info.get("directory"), "state": "archived" if quiet else "active", "status": "idle",
            "server": server, "origin": "adopted", "created_at": (times.get("created") or time.time() * 1000) / 1000}
        self.repo.create_session(session)
        self._refs[(engine, ref)] = session["id"]
        self._dirs[(engine, ref)] = session["directory"]
        self._changed(session["id"], "adopted")
        return session["id"]

    def live_sessions(self, engine: str, server: str | None = None) -> list[tuple[str, str]]:
        """Sessions worth reconciling: the active ones and any a client is watching (of one
        server, when given)."""
        sessions, _ = self.repo.list_sessions(state="active", limit=MAX_ACTIVE * 5, children=True)
        wanted = {s["id"]: s for s in sessions}
        for stream in self.hub.streams():
            if stream.session_id not in wanted:
                session = self.repo.get_session(stream.session_id)
                if session:
                    wanted[session["id"]] = session
        return [(s["id"], s["engine_ref"]) for s in wanted.values() if s["engine"] == engine and s["engine_ref"]
                and (server is None or s.get("server", "local") == server)]

    def adopt_child(self, engine: str, parent_id: str, engine_ref: str, info: dict[str, Any]) -> str:
        """A sub-agent's session, started by the agent of `parent_id`: kept under its parent."""
        parent = self.repo.get_session(parent_id) or {}
        return self.take_in(engine, engine_ref, {"title": info.get("title") or "Sub-agent",
                                                 "agent": info.get("agent"), "model": parent.get("model"),
                                                 "directory": info.get("directory") or parent.get("directory"),
                                                 "server": parent.get("server")}, parent_id=parent_id)

    def take_in(self, engine: str, engine_ref: str, fields: dict[str, Any], parent_id: str | None = None) -> str:
        """Take an engine session Nexus made happen but did not create itself (a fork, a
        sub-agent) into the store, on the same OpenCode server and folder as its origin.
        (`adopt` is for sessions other clients started.)"""
        model = fields.get("model")
        session: dict[str, Any] = {"id": f"s_{uuid.uuid4().hex[:20]}", "engine": engine, "engine_ref": engine_ref,
                   "title": _clean_title(fields.get("title")) or "New session", "agent": fields.get("agent"),
                   "model": model if isinstance(model, str) else None, "directory": fields.get("directory"),
                   "server": fields.get("server"), "state": "active",
                   "status": "idle", "options": fields.get("options"), "parent_id": parent_id}
        self.repo.create_session(session)
        self._refs[(engine, engine_ref)] = session["id"]
        self._dirs[(engine, engine_ref)] = session["directory"]
        log.info("adopted %s session %s as %s%s", engine, engine_ref, session["id"],
                 f" (sub-agent of {parent_id})" if parent_id else "")
        self._changed(parent_id or session["id"], "sub-agent" if parent_id else "created")
        return session["id"]

    def transcript_state(self, session_id: str) -> dict[str, Any]:
        stream = self.hub.stream(session_id)
        with stream.lock:
            return stream.transcript.state()

    def _load(self, session_id: str) -> tuple[Transcript, int]:
        session = self.repo.get_session(session_id)
        if session is None:
            raise KeyError(session_id)
        messages, has_more = self.repo.load_messages(session_id, limit=500)
        transcript = Transcript(session, messages, has_more)
        transcript.questions = {q["id"]: q for q in self.pending.items(session_id, QUESTION)}
        transcript.queue = [shown(item) for item in self.queue.items(session_id)]
        if transcript.queue and transcript.status.get("status") == "idle":
            self.queue.on_status(session_id, "idle")  # queued before a restart: send now
        return transcript, int(session.get("last_seq") or 0)

    # ----- sessions -------------------------------------------------------------------------------

    def _engine(self, name: str, server: str | None = None) -> Engine:
        if name == "opencode" and server not in (None, "local"):
            engine = self.server_engines.get(server)
            if engine is None:
                raise ChatError(f"There is no OpenCode server {server!r} any more.", 404, "unknown_server")
            return engine
        engine = self.engines.get(name)
        if engine is None:
            raise ChatError(f"The {name!r} engine is not available.", 400, "unknown_engine")
        return engine

    def engine_of(self, session: dict[str, Any]) -> Engine:
        """The engine that runs `session`: for OpenCode, the one of the session's own server."""
        return self._engine_of(session)

    def _engine_of(self, session: dict[str, Any]) -> Engine:
        return self._engine(session["engine"], session.get("server"))

    def _with_server(self, session: dict[str, Any]) -> dict[str, Any]:
        if session.get("engine") != "opencode":
            return session
        state, name = self.server_info(session.get("server") or "local")
        return {**session, "server_name": name, "server_state": state,
                "reachable": state in ("running", "unhealthy")}

    def get(self, session_id: str) -> dict[str, Any]:
        session = self.repo.get_session(session_id)
        if session is None:
            raise ChatError("No such session.", 404, "not_found")
        stream = self.hub.existing(session_id)
        if stream is not None:
            with stream.lock:
                session = {**session, **stream.transcript.session,
                           "status": stream.transcript.status.get("status", "idle"),
                           "pending_permissions": len(stream.transcript.permissions),
                           "pending_questions": len(stream.transcript.questions)}
        return self._with_server(session)

    def list(self, state: str | None = "active", limit: int = 50, offset: int = 0,
             query: str | None = None, **filters: Any) -> tuple[list[dict[str, Any]], int]:
        """`filters`: agent, model, created_from, created_to (see ChatRepository.list_sessions)."""
        if query:
            self.writer.flush_all()  # search what is still in the write batch too
        sessions, total = self.repo.list_sessions(state=state, limit=limit, offset=offset, query=query, **filters)
        used = self.repo.agents_and_models_used([s["id"] for s in sessions if not (s["agent"] and s["model"])])
        out = []
        for session in sessions:
            if session["id"] in used:  # started with the defaults: show what the replies used
                agent, model = used[session["id"]]
                session = {**session, "agent_used": agent, "model_used": model}
            stream = self.hub.existing(session["id"])
            if stream is not None:
                with stream.lock:
                    session = {**session, **stream.transcript.session,
                               "status": stream.transcript.status.get("status", "idle"),
                               "pending_permissions": len(stream.transcript.permissions),
                               "pending_questions": len(stream.transcript.questions)}
            out.append(self._with_server(session))
        return out, total

    def create(self, *, title: str | None = None, engine: str = "opencode", agent: str | None = None,
               model: str | None = None, agent_id: str | None = None, directory: str | None = None,
               server: str | None = None) -> dict[str, Any]:
        """`directory` and `server` (OpenCode only) are checked by the caller (nexus.projects)."""
        given = _clean_title(title)
        options = None
        if agent_id:
            # A named agent decides the engine, model and options; they are copied into the session.
            if self.agent_configs is None:
                raise ChatError("Named agents are not available.", 400, "no_agents")
            chosen = self.agent_configs(agent_id)
            engine, agent, options = chosen["engine"], chosen["agent"], chosen["options"]
            model = model or chosen["model"]
        if self.repo.count_active() >= MAX_ACTIVE:
            raise ChatError(f"{MAX_ACTIVE} sessions are open already. Close or archive one to start another.",
                            409, "too_many_active")
        # Without a title the engine names the session from its first message (OpenCode's
        # title agent); until then it is "New session".
        where = {"directory": directory} if directory and engine == "opencode" else {}
        with self._claim_lock:
            return self._create(engine, server, given, agent, model, options, where)

    def _create(self, engine: str, server: str | None, given: str, agent: str | None, model: str | None,
                options: dict[str, Any] | None, where: dict[str, Any]) -> dict[str, Any]:
        created = self._engine(engine, server).create_session(title=given or None, agent=agent, model=model,
                                                              options=options, **where)
        session = {"id": f"s_{uuid.uuid4().hex[:20]}", "engine": engine, "engine_ref": created["engine_ref"],
                   "title": given or "New session", "agent": agent, "model": model,
                   "directory": created.get("directory") or where.get("directory"), "state": "active",
                   "status": "idle",
                   "options": options, "server": server if engine == "opencode" else None, "origin": "nexus"}
        self.repo.create_session(session)
        self._refs[(engine, created["engine_ref"])] = session["id"]
        self._dirs[(engine, created["engine_ref"])] = session["directory"]
        log.info("created session %s (%s %s)", session["id"], engine, created["engine_ref"])
        self._changed(session["id"], "created")
        return self.get(session["id"])

    def prompt(self, session_id: str, *, text: str, files: builtins.list[dict[str, Any]] | None = None,
               agent: str | None = None, model: str | None = None,
               mentions: builtins.list[Any] | None = None) -> dict[str, Any]:
        """Send a message, or queue it while the agent works (nexus/chat/queue.py). A model or
        agent given here is remembered for the session's next messages too.
        Returns {"queued": False} or {"queued": True, "id": <queued message id>}."""
        session = self.get(session_id)
        text = (text or "").strip()
        files = _check_files(files or [])
        if not text and not files:
            raise ChatError("Write a message or attach a file.", 400, "empty_prompt")
        if len(text) > MAX_PROMPT_CHARS:
            raise ChatError(f"The message is longer than {MAX_PROMPT_CHARS:,} characters.", 413, "too_long")
        for name, value in (("agent", agent), ("model", model)):
            if value is not None and (not value.strip() or len(value) > 200):
                raise ChatError(f"The {name} name must be 1 to 200 characters.", 400, "bad_request")
        if session["state"] != "active":
            if session.get("origin") != "adopted" and self.repo.count_active() >= MAX_ACTIVE:
                raise ChatError(f"{MAX_ACTIVE} sessions are open already. Close or archive one to resume this one.",
                                409, "too_many_active")
            self._set_state(session_id, "active")
        if session.get("reachable") is False and session.get("server") not in (None, "local"):
            raise ChatError(f"The OpenCode server {session.get('server_name')!r} cannot be reached right now; "
                            "the session resumes when it is back.", 503, "server_unreachable")
        references = check_mentions(session, mentions or [])
        self.remember_choice(session_id, agent=agent, model=model)
        message = {"text": text, "files": files, "agent": agent or session.get("agent"),
                   "model": model or session.get("model"), "mentions": references}
        try:
            return self.queue.submit(session_id, message)
        except QueueError as exc:
            raise ChatError(str(exc), exc.status, exc.code) from None

    def remember_choice(self, session_id: str, *, agent: str | None = None, model: str | None = None) -> None:
        """The model and agent chosen in the composer stay the session's from now on."""
        session = self.get(session_id)
        changed = {k: v for k, v in (("agent", agent), ("model", model)) if v and v != session.get(k)}
        if changed:
            self.repo.update_session(session_id, **changed)
            self.hub.emit(session_id, ev.SESSION_UPDATED, {"session": changed})

    def _status_of(self, session_id: str) -> str:
        """For the queue: an archived session is "paused" (its queued messages wait for it)."""
        stream = self.hub.stream(session_id)
        with stream.lock:
            if stream.transcript.session.get("state", "active") != "active":
                return "paused"
            return str(stream.transcript.status.get("status") or "idle")

    def _send_prompt(self, session_id: str, message: dict[str, Any]) -> None:
        """Hand one message to the engine (the queue calls this, one at a time per session)."""
        session = self.get(session_id)
        engine = self._engine_of(session)
        if message.get("command"):
            engine.command(session["engine_ref"], name=message["command"], arguments=message.get("arguments") or "",
                           agent=message.get("agent"), model=message.get("model"))
            return
        kwargs: dict[str, Any] = {"text": message["text"], "files": message.get("files") or [],
                                  "agent": message.get("agent"), "model": message.get("model"),
                                  "options": session.get("options")}
        if message.get("mentions"):
            kwargs["mentions"] = message["mentions"]
        try:
            engine.prompt(session["engine_ref"], **kwargs)
        except EngineError as exc:
            if exc.status != 404:
                raise
            # OpenCode lost the session (its data was reset): continue in a fresh one; the
            # history stays in Nexus.
            where = {"directory": session["directory"]} if session.get("directory") else {}
            with self._claim_lock:
                created = engine.create_session(title=session["title"], agent=session.get("agent"),
                                                model=session.get("model"), **where)
                self.repo.update_session(session_id, engine_ref=created["engine_ref"])
                self._refs[(session["engine"], created["engine_ref"])] = session_id
            log.warning("session %s continued in a new OpenCode session %s", session_id, created["engine_ref"])
            engine.prompt(created["engine_ref"], **kwargs)

    def commands(self, session_id: str) -> builtins.list[dict[str, Any]]:
        session = self.get(session_id)
        return self._engine_of(session).commands(session.get("engine_ref"))

    def run_command(self, session_id: str, name: str, arguments: str = "", *, agent: str | None = None,
                    model: str | None = None) -> dict[str, Any]:
        """A slash command, sent (or queued) like a message; an unknown one is refused."""
        session = self.get(session_id)
        if len(arguments) > MAX_PROMPT_CHARS:
            raise ChatError(f"The arguments are longer than {MAX_PROMPT_CHARS:,} characters.", 413, "too_long")
        known = {c["name"] for c in self._engine_of(session).commands(session.get("engine_ref"))}
        if name not in known:
            raise ChatError(f"There is no command /{name}.", 404, "unknown_command")
        if session["state"] != "active":
            self.unarchive(session_id)
        self.remember_choice(session_id, agent=agent, model=model)
        message: dict[str, Any] = {"text": f"/{name} {arguments}".strip(), "command": name, "arguments": arguments.strip(),
                   "files": [], "agent": agent or session.get("agent"), "model": model or session.get("model")}
        try:
            return self.queue.submit(session_id, message)
        except QueueError as exc:
            raise ChatError(str(exc), exc.status, exc.code) from None

    def mention_candidates(self, session_id: str, query: str) -> dict[str, Any]:
        """For @ mentions: files of the session's project whose path matches `query`, and the
        sub-agents a message can hand work to."""
        session = self.get(session_id)
        engine = self._engine_of(session)
        needle = query.lower()
        files = engine.find_files(query[:200], session.get("directory")) if session["engine"] == "opencode" else []
        agents = [a for a in engine.subagents() if needle in a["name"].lower()]
        return {"files": files, "agents": agents}

    def compact(self, session_id: str) -> None:
        """Summarize the conversation so far (OpenCode's compaction), to free context."""
        session = self.get(session_id)
        if session.get("status") in ("busy", "retry", "waiting"):
            raise ChatError("The agent is working: compact when it is idle.", 409, "busy")
        model = session.get("model") or self._latest_model(session_id)
        if not model:
            raise ChatError("Send a message first: compaction uses the session's model.", 409, "no_model")
        self._engine_of(session).compact(session["engine_ref"], model)

    def _latest_model(self, session_id: str) -> str | None:
        stream = self.hub.stream(session_id)
        with stream.lock:
            models = [m.get("model") for m in stream.transcript.messages.values() if m.get("model")]
        return models[-1] if models else None

    def get_queue(self, session_id: str) -> builtins.list[dict[str, Any]]:
        self.get(session_id)
        return [shown(item) for item in self.queue.items(session_id)]

    def edit_queued(self, session_id: str, item_id: str, text: str) -> None:
        self.get(session_id)
        text = (text or "").strip()
        if len(text) > MAX_PROMPT_CHARS:
            raise ChatError(f"The message is longer than {MAX_PROMPT_CHARS:,} characters.", 413, "too_long")
        try:
            self.queue.edit(session_id, item_id, text)
        except QueueError as exc:
            raise ChatError(str(exc), exc.status, exc.code) from None

    def cancel_queued(self, session_id: str, item_id: str) -> None:
        self.get(session_id)
        try:
            self.queue.cancel(session_id, item_id)
        except QueueError as exc:
            raise ChatError(str(exc), exc.status, exc.code) from None

    def abort(self, session_id: str) -> None:
        session = self.get(session_id)
        self._engine_of(session).abort(session["engine_ref"])

    def reply_permission(self, session_id: str, permission_id: str, reply: str, message: str | None = None) -> None:
        if reply not in ev.PERMISSION_REPLIES:
            raise ChatError(f"reply must be one of {', '.join(ev.PERMISSION_REPLIES)}.", 400, "bad_reply")
        session = self.get(session_id)
        stream = self.hub.stream(session_id)
        with stream.lock:
            known = permission_id in stream.transcript.permissions
        if not known:
            raise ChatError("That permission request is not pending (answered elsewhere, or stopped).", 409,
                            "not_pending")
        self._engine_of(session).reply_permission(session["engine_ref"], permission_id, reply,
                                                         (message or "").strip()[:2000] or None)

    def pending_permission(self, session_id: str, permission_id: str) -> dict[str, Any] | None:
        """A permission request still waiting for an answer (for the remote-shell policy)."""
        self.get(session_id)
        stream = self.hub.stream(session_id)
        with stream.lock:
            return stream.transcript.permissions.get(permission_id)

    def answer_question(self, session_id: str, question_id: str, answers: Any = None, reject: bool = False) -> None:
        """Answer a question the agent asked (one list of labels or typed text per question),
        or dismiss it. A question that is not pending any more is refused, nothing changes."""
        session = self.get(session_id)
        stream = self.hub.stream(session_id)
        with stream.lock:
            question = stream.transcript.questions.get(question_id)
            question = dict(question) if question else None
        if question is None:
            raise ChatError("That question is not pending (answered elsewhere, or stopped).", 409, "not_pending")
        try:
            clean = None if reject else check_answers(question, answers)
        except AnswerError as exc:
            raise ChatError(str(exc), 400, "bad_answer") from None
        engine = self._engine_of(session)
        try:
            engine.answer_question(session["engine_ref"], question, clean)
        except EngineError as exc:
            if exc.status == 404:
                raise ChatError("That question is not pending any more (the agent stopped waiting).", 409,
                                "not_pending") from exc
            raise
        if question.get("detached") and clean is not None:
            # OpenCode lost the question in a restart: the answer goes as the next message.
            self.prompt(session_id, text=answer_text(question, clean))

    def rename(self, session_id: str, title: str) -> dict[str, Any]:
        session = self.get(session_id)
        clean = _clean_title(title)
        if not clean:
            raise ChatError("The title cannot be empty.", 400, "bad_title")
        try:
            self._engine_of(session).rename(session["engine_ref"], clean)
        except EngineError as exc:
            log.warning("could not rename in the engine (%s); renamed in Nexus only", exc)
        self.repo.update_session(session_id, title=clean)
        self.hub.emit(session_id, ev.SESSION_UPDATED, {"session": {"title": clean}})
        self._changed(session_id, "renamed")
        return self.get(session_id)

    def archive(self, session_id: str) -> dict[str, Any]:
        session = self.get(session_id)
        # Archived first, so the idle that follows the abort sends no queued message.
        archived = self._set_state(session_id, "archived")
        if session.get("status") in ("busy", "retry", "waiting"):
            self.abort(session_id)
            archived = self.get(session_id)
        return archived

    def unarchive(self, session_id: str) -> dict[str, Any]:
        session = self.get(session_id)
        if session.get("origin") != "adopted" and self.repo.count_active() >= MAX_ACTIVE:
            raise ChatError(f"{MAX_ACTIVE} sessions are open already. Close or archive one first.", 409,
                            "too_many_active")
        return self._set_state(session_id, "active")

    def _set_state(self, session_id: str, state: str) -> dict[str, Any]:
        self.repo.update_session(session_id, state=state)
        self.hub.emit(session_id, ev.SESSION_UPDATED, {"session": {"state": state}})
        self._changed(session_id, "reopened" if state == "active" else "archived")
        if state == "active":
            self.queue.on_status(session_id, self._status_of(session_id))  # queued while archived
        return self.get(session_id)

    def _changed(self, session_id: str, change: str) -> None:
        """Tell every open page that the list of sessions changed (another tab, a script)."""
        self._bus.publish(SESSIONS_TOPIC, session_id=session_id, change=change)

    def delete(self, session_id: str, *, in_engine: bool = False) -> None:
        """Soft delete: hidden at once, restorable with `restore` until purged. `in_engine`
        also deletes the engine's own copy (OpenCode's, which its other clients show): that
        part cannot be undone."""
        session = self.get(session_id)
        if session.get("status") in ("busy", "retry", "waiting"):
            try:
                self.abort(session_id)
            except EngineError:
                pass
        if in_engine and session.get("engine_ref"):
            self._engine_of(session).delete(session["engine_ref"])
        self.writer.flush(session_id)
        self.repo.update_session(session_id, deleted_at=time.time())
        self.hub.drop(session_id)
        self._refs.pop((session["engine"], session["engine_ref"]), None)
        self._changed(session_id, "deleted")

    def restore(self, session_id: str) -> dict[str, Any]:
        session = self.repo.get_session(session_id, include_deleted=True)
        if session is None:
            raise ChatError("No such session.", 404, "not_found")
        # Restored as it was; an active one comes back archived when ten are open already.
        if session["state"] == "active" and session.get("origin") != "adopted" \
                and self.repo.count_active() >= MAX_ACTIVE:
            self.repo.update_session(session_id, deleted_at=None, state="archived")
        else:
            self.repo.update_session(session_id, deleted_at=None)
        self._refs.pop((session["engine"], session["engine_ref"]), None)
        self._changed(session_id, "restored")
        return self.get(session_id)

    # ----- reading ----------------------------------------------------------------------------------

    def messages(self, session_id: str, *, before: str | None = None, limit: int = 100) -> dict[str, Any]:
        self.get(session_id)
        if before is None:
            self.writer.flush(session_id)  # include what is still in the write batch
        messages, has_more = self.repo.load_messages(session_id, before=before, limit=limit)
        return {"messages": messages, "has_more": has_more}

    def initial_snapshot(self, session_id: str) -> dict[str, Any]:
        """What a page can be rendered with: a snapshot event and the epoch it belongs to."""
        return {"epoch": self.hub.epoch, "event": self.hub.stream(session_id).snapshot_event().to_json()}

    def exists(self, session_id: str) -> bool:
        """Whether the session is known (archived and deleted ones too), without loading it."""
        return self.repo.get_session(session_id) is not None

    def facets(self) -> dict[str, Any]:
        """The values the session list can be filtered by (agents, models, folders, servers used)."""
        return self.repo.session_facets()

    def open_feed(self, wake: threading.Event | None = None) -> ClientStream:
        """A live feed for one client (a browser tab): `follow()` sessions into it, drain it,
        close it when the client goes."""
        return self.hub.client(wake=wake)

    @property
    def epoch(self) -> str:
        """Changes when this Nexus restarts: a client's sequence numbers from before mean nothing now."""
        return self.hub.epoch

    def follow(self, client: ClientStream, session_id: str, after: int | None, epoch: str | None) -> None:
        self.get(session_id)
        client.follow(session_id, after, epoch)

    def search(self, query: str, limit: int = 20) -> builtins.list[dict[str, Any]]:
        self.writer.flush_all()
        return self.repo.search(query, limit)

    def export(self, session_id: str) -> dict[str, Any]:
        session = self.get(session_id)
        self.writer.flush(session_id)
        messages, _ = self.repo.load_messages(session_id)
        return {"format": "nexus.session.v1", "exported_at": time.time(), "session": session, "messages": messages}

    def models(self, engine: str = "opencode", server: str | None = None) -> builtins.list[dict[str, Any]]:
        return self._engine(engine, server).models()

    def agents(self, engine: str = "opencode", server: str | None = None) -> builtins.list[dict[str, Any]]:
        return self._engine(engine, server).agents()


def _clean_title(title: str | None) -> str:
    return " ".join((title or "").split())[:MAX_TITLE]


def check_mentions(session: dict[str, Any], mentions: list[Any]) -> list[dict[str, Any]]:
    """@ mentions: files inside the session's project (a path relative to it) and agents."""
    if not isinstance(mentions, list) or len(mentions) > MAX_FILES * 2:
        raise ChatError(f"Mention at most {MAX_FILES * 2} files or agents.", 400, "bad_mention")
    out: list[dict[str, Any]] = []
    for mention in mentions:
        kind = mention.get("type") if isinstance(mention, dict) else None
        if kind == "agent" and isinstance(mention.get("name"), str) and 0 < len(mention["name"]) <= 100:
            out.append({"type": "agent", "name": mention["name"]})
            continue
        if kind != "file" or not isinstance(mention.get("path"), str) or not mention["path"]:
            raise ChatError("A mention is {type: 'file', path} or {type: 'agent', name}.", 400, "bad_mention")
        directory = session.get("directory")
        if not directory:
            raise ChatError("This session has no project folder to mention files from.", 400, "bad_mention")
        root = Path(directory).resolve()
        try:
            target = (root / mention["path"]).resolve()
        except (OSError, ValueError):  # a NUL byte, a symlink loop
            raise ChatError(f"{mention['path']!r} is not a usable path.", 400, "bad_mention") from None
        if not target.is_relative_to(root):
            raise ChatError(f"{mention['path']!r} is outside the session's project.", 400, "outside_project")
        if not target.is_file():
            raise ChatError(f"There is no file {mention['path']!r} in the session's project.", 400, "no_such_file")
        out.append({"type": "file", "path": str(target), "relative": target.relative_to(root).as_posix()})
    return out


def _check_files(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(files, list) or len(files) > MAX_FILES:
        raise ChatError(f"Attach at most {MAX_FILES} files.", 400, "too_many_files")
    clean = []
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not isinstance(f.get("data"), str):
            raise ChatError("Each file needs a name and base64 data.", 400, "bad_file")
        try:
            size = len(base64.b64decode(f["data"], validate=True))
        except (binascii.Error, ValueError):
            raise ChatError(f"The file {f['name']!r} is not valid base64.", 400, "bad_file") from None
        if size > MAX_FILE_BYTES:
            raise ChatError(f"The file {f['name']!r} is larger than {MAX_FILE_BYTES // 1024 // 1024} MB.", 413,
                            "file_too_large")
        mime = f.get("mime") if isinstance(f.get("mime"), str) and "/" in f.get("mime", "") else \
            "application/octet-stream"
        clean.append({"name": f["name"][:255], "mime": mime, "data": f["data"]})
    return clean


def to_markdown(export: dict[str, Any]) -> str:
    """A readable transcript: text as is, reasoning quoted, tool calls with input and output."""
    session = export["session"]
    lines = [f"# {session['title']}", "",
             f"- Session: `{session['id']}` ({session['engine']}{', ' + session['model'] if session.get('model') else ''})",
             f"- Tokens: {sum(session['tokens'].values()):,} · Cost: ${session['cost']:.4f}", ""]
    for message in export["messages"]:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(message["created_at"] or 0))
        lines += [f"## {'You' if message['role'] == 'user' else 'Assistant'} · {when}", ""]
        for part in message["parts"]:
            kind = part["kind"]
            if kind == "text":
                lines += [part.get("text", ""), ""]
            elif kind == "reasoning":
                lines += ["> " + line for line in (part.get("text") or "").splitlines()] + [""]
            elif kind == "tool":
                lines += [f"**Tool `{part.get('tool')}`** — {part.get('status')}", "",
                          "```json", json.dumps(part.get("input") or {}, indent=2), "```", ""]
                output = part.get("output") or part.get("error")
                if output:
                    lines += ["```", str(output).rstrip(), "```", ""]
            elif kind == "file":
                lines += [f"📎 {part.get('filename') or 'file'} ({part.get('mime')})", ""]
            elif kind == "patch":
                lines += ["Changed files: " + ", ".join(map(str, part.get("files") or [])), ""]
        if message.get("error"):
            lines += [f"_{message['error'].get('message')}_", ""]
    return "\n".join(lines).rstrip() + "\n"
