"""The chat service: sessions, prompts, permissions and live streams, whatever the engine.

It owns the hub (numbering and fan-out), the transcript writer (persistence) and the
engines (which report events through `emit`). Views call it; it calls no view.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from typing import Any, Callable

from nexus.bus import EventBus
from nexus.chat import events as ev
from nexus.chat.engines.base import Engine, EngineError
from nexus.chat.hub import ChatHub, ClientStream
from nexus.chat.repository import ChatRepository
from nexus.chat.transcript import Transcript
from nexus.chat.writer import TranscriptWriter

log = logging.getLogger(__name__)

MAX_ACTIVE = 10
SESSIONS_TOPIC = "chat.sessions"
MAX_TITLE = 200
MAX_PROMPT_CHARS = 200_000
MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024


class ChatError(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "bad_request", **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details


class ChatService:
    def __init__(self, repo: ChatRepository, bus: EventBus) -> None:
        self.repo = repo
        self._bus = bus
        self.engines: dict[str, Engine] = {}
        self.hub = ChatHub(self._load)
        self.writer = TranscriptWriter(self.hub, repo)
        # Named agents (nexus/agents): agent id -> {engine, model, agent, options}; set by the runtime.
        self.agent_configs: Callable[[str], dict[str, Any]] | None = None
        # Every streamed token names its engine session; look each one up once.
        self._refs: dict[tuple[str, str], str | None] = {}

    def add_engine(self, engine: Engine) -> None:
        self.engines[engine.name] = engine

    def start(self) -> None:
        self.writer.start()
        for engine in self.engines.values():
            engine.start()

    def stop(self) -> None:
        for engine in self.engines.values():
            engine.stop()
        self.writer.stop()

    # ----- what engines call (EngineSink) -----------------------------------------------------------

    def emit(self, session_id: str, type_: str, data: dict[str, Any]) -> None:
        event = self.hub.emit(session_id, type_, data)
        if type_ == ev.MESSAGE_END:
            # Saved within milliseconds by the writer thread: saving here would stall the
            # relay of every session's events behind a database write.
            self.writer.wake()
        if type_ in (ev.SESSION_STATUS, ev.PERMISSION_ASKED, ev.SESSION_UPDATED, ev.MESSAGE_END):
            self._bus.publish("chat.session", session_id=session_id, type=type_, seq=event.seq,
                              status=self.hub.stream(session_id).transcript.status.get("status"))

    def session_for(self, engine: str, engine_ref: str) -> str | None:
        key = (engine, engine_ref)
        if key not in self._refs:
            session = self.repo.find_by_engine_ref(engine, engine_ref)
            self._refs[key] = session["id"] if session else None
        return self._refs[key]

    def live_sessions(self, engine: str) -> list[tuple[str, str]]:
        """Sessions worth reconciling: the active ones and any a client is watching."""
        sessions, _ = self.repo.list_sessions(state="active", limit=MAX_ACTIVE * 5)
        wanted = {s["id"]: s for s in sessions}
        for stream in self.hub.streams():
            if stream.session_id not in wanted:
                session = self.repo.get_session(stream.session_id)
                if session:
                    wanted[session["id"]] = session
        return [(s["id"], s["engine_ref"]) for s in wanted.values() if s["engine"] == engine and s["engine_ref"]]

    def transcript_state(self, session_id: str) -> dict[str, Any]:
        stream = self.hub.stream(session_id)
        with stream.lock:
            return stream.transcript.snapshot()

    def _load(self, session_id: str) -> tuple[Transcript, int]:
        session = self.repo.get_session(session_id)
        if session is None:
            raise KeyError(session_id)
        messages, has_more = self.repo.load_messages(session_id, limit=500)
        return Transcript(session, messages, has_more), int(session.get("last_seq") or 0)

    # ----- sessions -------------------------------------------------------------------------------

    def _engine(self, name: str) -> Engine:
        engine = self.engines.get(name)
        if engine is None:
            raise ChatError(f"The {name!r} engine is not available.", 400, "unknown_engine")
        return engine

    def get(self, session_id: str) -> dict[str, Any]:
        session = self.repo.get_session(session_id)
        if session is None:
            raise ChatError("No such session.", 404, "not_found")
        stream = self.hub.existing(session_id)
        if stream is not None:
            with stream.lock:
                session = {**session, **stream.transcript.session,
                           "status": stream.transcript.status.get("status", "idle"),
                           "pending_permissions": len(stream.transcript.permissions)}
        return session

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
                               "pending_permissions": len(stream.transcript.permissions)}
            out.append(session)
        return out, total

    def create(self, *, title: str | None = None, engine: str = "opencode", agent: str | None = None,
               model: str | None = None, agent_id: str | None = None) -> dict[str, Any]:
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
        created = self._engine(engine).create_session(title=given or None, agent=agent, model=model, options=options)
        session = {"id": f"s_{uuid.uuid4().hex[:20]}", "engine": engine, "engine_ref": created["engine_ref"],
                   "title": given or "New session", "agent": agent, "model": model,
                   "directory": created.get("directory"), "state": "active", "status": "idle", "options": options}
        self.repo.create_session(session)
        self._refs[(engine, created["engine_ref"])] = session["id"]
        log.info("created session %s (%s %s)", session["id"], engine, created["engine_ref"])
        self._changed(session["id"], "created")
        return self.get(session["id"])

    def prompt(self, session_id: str, *, text: str, files: list[dict[str, Any]] | None = None,
               agent: str | None = None, model: str | None = None) -> None:
        session = self.get(session_id)
        text = (text or "").strip()
        files = _check_files(files or [])
        if not text and not files:
            raise ChatError("Write a message or attach a file.", 400, "empty_prompt")
        if len(text) > MAX_PROMPT_CHARS:
            raise ChatError(f"The message is longer than {MAX_PROMPT_CHARS:,} characters.", 413, "too_long")
        if session["state"] != "active":
            if self.repo.count_active() >= MAX_ACTIVE:
                raise ChatError(f"{MAX_ACTIVE} sessions are open already. Close or archive one to resume this one.",
                                409, "too_many_active")
            self._set_state(session_id, "active")
        if session.get("status") in ("busy", "retry", "waiting"):
            raise ChatError("The agent is still working on the last message. Stop it or wait.", 409, "busy")
        engine = self._engine(session["engine"])
        try:
            engine.prompt(session["engine_ref"], text=text, files=files, agent=agent or session.get("agent"),
                          model=model or session.get("model"), options=session.get("options"))
        except EngineError as exc:
            if exc.status != 404:
                raise
            # OpenCode lost the session (its data was reset): continue in a fresh one; the
            # history stays in Nexus.
            created = engine.create_session(title=session["title"], agent=session.get("agent"),
                                            model=session.get("model"))
            self.repo.update_session(session_id, engine_ref=created["engine_ref"])
            self._refs[(session["engine"], created["engine_ref"])] = session_id
            log.warning("session %s continued in a new OpenCode session %s", session_id, created["engine_ref"])
            engine.prompt(created["engine_ref"], text=text, files=files, agent=agent or session.get("agent"),
                          model=model or session.get("model"), options=session.get("options"))

    def abort(self, session_id: str) -> None:
        session = self.get(session_id)
        self._engine(session["engine"]).abort(session["engine_ref"])

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
        self._engine(session["engine"]).reply_permission(session["engine_ref"], permission_id, reply,
                                                         (message or "").strip()[:2000] or None)

    def rename(self, session_id: str, title: str) -> dict[str, Any]:
        session = self.get(session_id)
        clean = _clean_title(title)
        if not clean:
            raise ChatError("The title cannot be empty.", 400, "bad_title")
        try:
            self._engine(session["engine"]).rename(session["engine_ref"], clean)
        except EngineError as exc:
            log.warning("could not rename in the engine (%s); renamed in Nexus only", exc)
        self.repo.update_session(session_id, title=clean)
        self.hub.emit(session_id, ev.SESSION_UPDATED, {"session": {"title": clean}})
        self._changed(session_id, "renamed")
        return self.get(session_id)

    def archive(self, session_id: str) -> dict[str, Any]:
        session = self.get(session_id)
        if session.get("status") in ("busy", "retry", "waiting"):
            self.abort(session_id)
        return self._set_state(session_id, "archived")

    def unarchive(self, session_id: str) -> dict[str, Any]:
        self.get(session_id)
        if self.repo.count_active() >= MAX_ACTIVE:
            raise ChatError(f"{MAX_ACTIVE} sessions are open already. Close or archive one first.", 409,
                            "too_many_active")
        return self._set_state(session_id, "active")

    def _set_state(self, session_id: str, state: str) -> dict[str, Any]:
        self.repo.update_session(session_id, state=state)
        self.hub.emit(session_id, ev.SESSION_UPDATED, {"session": {"state": state}})
        self._changed(session_id, "reopened" if state == "active" else "archived")
        return self.get(session_id)

    def _changed(self, session_id: str, change: str) -> None:
        """Tell every open page that the list of sessions changed (another tab, a script)."""
        self._bus.publish(SESSIONS_TOPIC, session_id=session_id, change=change)

    def delete(self, session_id: str) -> None:
        """Soft delete: hidden at once, restorable with `restore` until purged."""
        session = self.get(session_id)
        if session.get("status") in ("busy", "retry", "waiting"):
            try:
                self.abort(session_id)
            except EngineError:
                pass
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
        if session["state"] == "active" and self.repo.count_active() >= MAX_ACTIVE:
            self.repo.update_session(session_id, deleted_at=None, state="archived")
        else:
            self.repo.update_session(session_id, deleted_at=None)
        self._refs.pop((session["engine"], session["engine_ref"]), None)
        self._changed(session_id, "restored")
        return self.get(session_id)

    # ----- reading ----------------------------------------------------------------------------------

    def messages(self, session_id: str, *, before: str | None = None, limit: int = 100) -> dict[str, Any]:
        self.get(session_id)
        messages, has_more = self.repo.load_messages(session_id, before=before, limit=limit)
        if before is None:
            self.writer.flush(session_id)  # include what is still in the write batch
            messages, has_more = self.repo.load_messages(session_id, limit=limit)
        return {"messages": messages, "has_more": has_more}

    def initial_snapshot(self, session_id: str) -> dict[str, Any]:
        """What a page can be rendered with: a snapshot event and the epoch it belongs to."""
        return {"epoch": self.hub.epoch, "event": self.hub.stream(session_id).snapshot_event().to_json()}

    def follow(self, client: ClientStream, session_id: str, after: int | None, epoch: str | None) -> None:
        self.get(session_id)
        client.follow(session_id, after, epoch)

    def search(self, query: str, limit: int = 20) -> list[dict[str, Any]]:
        self.writer.flush_all()
        return self.repo.search(query, limit)

    def export(self, session_id: str) -> dict[str, Any]:
        session = self.get(session_id)
        self.writer.flush(session_id)
        messages, _ = self.repo.load_messages(session_id)
        return {"format": "nexus.session.v1", "exported_at": time.time(), "session": session, "messages": messages}

    def models(self, engine: str = "opencode") -> list[dict[str, Any]]:
        return self._engine(engine).models()

    def agents(self, engine: str = "opencode") -> list[dict[str, Any]]:
        return self._engine(engine).agents()


def _clean_title(title: str | None) -> str:
    return " ".join((title or "").split())[:MAX_TITLE]


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
