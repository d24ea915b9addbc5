"""OpenCode's wire format -> Nexus's normalized chat events (see nexus/chat/events.py).

Pure translation with a little memory per session (which messages and parts it has seen,
what kind each part is, which permissions are pending), so it can be tested against
recorded OpenCode events without a server. Full part updates are authoritative; deltas
are passed on in between.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from nexus.chat import events as ev
from nexus.chat.transcript import beyond_horizon, first_kept, forgettable, part_weight

Emitted = tuple[str, str, dict[str, Any]]  # (OpenCode session id, event type, data)

# A reply cut off by a crash or restart (of OpenCode or Nexus): its `finish` and error name.
INTERRUPTED = "interrupted"

_PLACEHOLDER_TITLE = re.compile(r"^New session - \d{4}-\d\d-\d\dT")

_ERROR_WORDS = {
    "ProviderAuthError": "The model provider refused the credentials. Check the provider's API key in OpenCode.",
    "MessageOutputLengthError": "The reply hit the model's output limit and was cut short.",
    "ContextOverflowError": "The conversation is too long for the model's context window.",
}


def seconds(ms: Any) -> float | None:
    return ms / 1000.0 if isinstance(ms, (int, float)) else None


def error_of(error: dict[str, Any] | None) -> dict[str, Any] | None:
    if not error:
        return None
    name = error.get("name") or "Error"
    data = error.get("data") or {}
    if name == "MessageAbortedError":
        return {"name": "aborted", "message": "Stopped."}
    message = _ERROR_WORDS.get(name) or data.get("message") or name
    return {"name": name, "message": message}


def tokens_of(tokens: dict[str, Any] | None) -> dict[str, int]:
    tokens = tokens or {}
    cache = tokens.get("cache") or {}
    return {"input": int(tokens.get("input") or 0), "output": int(tokens.get("output") or 0),
            "reasoning": int(tokens.get("reasoning") or 0), "cache_read": int(cache.get("read") or 0),
            "cache_write": int(cache.get("write") or 0)}


def model_of(info: dict[str, Any]) -> str | None:
    model = info.get("model")
    if isinstance(model, dict):
        provider, name = model.get("providerID"), model.get("modelID") or model.get("id")
    else:
        provider, name = info.get("providerID"), info.get("modelID")
    return f"{provider}/{name}" if provider and name else None


def message_of(info: dict[str, Any]) -> dict[str, Any]:
    time_ = info.get("time") or {}
    return {"id": info["id"], "role": info.get("role", "assistant"), "created_at": seconds(time_.get("created")),
            "agent": info.get("agent") or info.get("mode"), "model": model_of(info),
            "parent_id": info.get("parentID"), **({"summary": True} if info.get("summary") is True else {})}


def part_of(part: dict[str, Any]) -> dict[str, Any] | None:
    """A normalized part, or None for bookkeeping parts (steps, snapshots) the UI has no use for."""
    kind = part.get("type")
    base = {"id": part["id"]}
    if kind in ("text", "reasoning"):
        out = {**base, "kind": kind, "text": part.get("text") or ""}
        if part.get("synthetic"):
            out["synthetic"] = True
        return out
    if kind == "tool":
        state = part.get("state") or {}
        metadata = dict(state.get("metadata") or {})
        partial = metadata.pop("output", None)
        times = state.get("time") or {}
        status = state.get("status") or "pending"
        return {**base, "kind": "tool", "tool": part.get("tool"), "call_id": part.get("callID"), "status": status,
                "input": state.get("input") or {},
                "output": state.get("output") if status == "completed" else partial,
                "error": state.get("error"), "title": state.get("title"), "metadata": metadata,
                "started_at": seconds(times.get("start")), "ended_at": seconds(times.get("end"))}
    if kind == "file":
        return {**base, "kind": "file", "mime": part.get("mime"), "filename": part.get("filename"),
                "url": part.get("url")}
    if kind == "patch":
        return {**base, "kind": "patch", "files": part.get("files") or [], "hash": part.get("hash")}
    if kind == "compaction":  # the conversation before it was summarized (OpenCode's /compact)
        return {**base, "kind": "compaction", "auto": bool(part.get("auto"))}
    return None


def permission_of(props: dict[str, Any]) -> dict[str, Any]:
    tool = props.get("tool") or {}
    metadata = props.get("metadata") or {}
    patterns = props.get("patterns") or []
    title = metadata.get("command") or metadata.get("filePath") or ", ".join(patterns) or props.get("permission")
    return {"id": props["id"], "tool": props.get("permission"), "title": title, "patterns": patterns,
            "always": props.get("always") or [], "metadata": metadata, "call_id": tool.get("callID"),
            "message_id": tool.get("messageID")}


def question_of(props: dict[str, Any]) -> dict[str, Any]:
    tool = props.get("tool") or {}
    questions = []
    for q in props.get("questions") or []:
        questions.append({"header": q.get("header") or "", "question": q.get("question") or "",
                          "options": [{"label": o.get("label") or "", "description": o.get("description") or ""}
                                      for o in q.get("options") or []],
                          # OpenCode allows a typed answer unless the question says custom: false.
                          "multiple": bool(q.get("multiple")), "custom": q.get("custom") is not False})
    return {"id": props["id"], "questions": questions, "call_id": tool.get("callID"),
            "message_id": tool.get("messageID")}


@dataclass
class _SessionMemory:
    # id -> {"ended", "tokens", "cost", "role", "created"}
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> last normalized part
    owners: dict[str, str] = field(default_factory=dict)  # part id -> message id
    permissions: set[str] = field(default_factory=set)
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> normalized question
    status: str = "idle"
    title: str | None = None
    # parity-b: undo state, what each user message's turn changed, and who answers whom.
    revert: dict[str, Any] | None = None
    diffs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # user message id -> files
    parents: dict[str, str] = field(default_factory=dict)  # assistant message id -> user message id
    part_messages: dict[str, str] = field(default_factory=dict)  # part id -> message id
    # Messages whose parts were let go, here and in the transcript (transcript.first_kept):
    # a reconcile does not announce their parts again (the store has them; clients do not).
    released: set[str] = field(default_factory=set)
    # The newest id of the messages forgotten entirely, here and in the transcript
    # (transcript.KEEP_MESSAGES): an event about one at or below it is not announced again.
    horizon: str | None = None

    def forgotten(self, message_id: str) -> bool:
        return message_id not in self.messages and beyond_horizon(message_id, self.horizon)


def _forget_old_messages(memory: _SessionMemory) -> None:
    """Forget released messages older than the newest KEEP_MESSAGES, as the transcript does."""
    gone = set(forgettable(list(memory.messages), memory.released))
    if not gone:
        return
    for message_id in gone:
        del memory.messages[message_id]
        memory.released.discard(message_id)
        memory.diffs.pop(message_id, None)
        memory.horizon = max(memory.horizon or message_id, message_id)
    for child in [c for c, parent in memory.parents.items() if c in gone or parent in gone]:
        del memory.parents[child]


def _release_old_parts(memory: _SessionMemory) -> None:
    """Forget the parts (their text: the bulk) of ended messages the transcript's policy
    does not keep (transcript.first_kept); the few fields of each message stay."""
    weights: dict[str, int] = {}
    for part_id, owner in memory.owners.items():
        part = memory.parts.get(part_id)
        if part is not None:
            weights[owner] = weights.get(owner, 0) + part_weight(part)
    order = list(memory.messages)
    old = [mid for mid in order[:first_kept([weights.get(mid, 0) for mid in order])]
           if mid not in memory.released and memory.messages[mid]["ended"]]
    if not old:
        return
    memory.released.update(old)
    gone = set(old)
    for part_id in [p for p, mid in memory.owners.items() if mid in gone]:
        memory.parts.pop(part_id, None)
        memory.owners.pop(part_id, None)
        memory.part_messages.pop(part_id, None)
    _forget_old_messages(memory)


class OpenCodeMapper:
    def __init__(self) -> None:
        self._sessions: dict[str, _SessionMemory] = {}

    def _memory(self, session_ref: str) -> _SessionMemory:
        memory = self._sessions.get(session_ref)
        if memory is None:  # not setdefault: that would build a new memory for every event
            memory = self._sessions[session_ref] = _SessionMemory()
        return memory

    def forget(self, session_ref: str) -> None:
        self._sessions.pop(session_ref, None)

    def seed(self, session_ref: str, state: dict[str, Any]) -> None:
        """Start from what Nexus already holds (after a restart), so nothing is re-announced."""
        memory = self._memory(session_ref)
        for message in state.get("messages", []):
            memory.messages[message["id"]] = {"ended": bool(message.get("completed_at")),
                                              "tokens": message.get("tokens"), "cost": message.get("cost"),
                                              "role": message.get("role"), "created": message.get("created_at")}
            for part in message.get("parts", []):
                memory.parts[part["id"]] = {k: v for k, v in part.items() if k != "message_id"}
                memory.owners[part["id"]] = message["id"]
        memory.released.update(state.get("released") or [])
        if state.get("horizon"):
            memory.horizon = max(memory.horizon or state["horizon"], state["horizon"])
        memory.permissions = {p["id"] for p in state.get("permissions", [])}
        memory.questions = {q["id"]: q for q in state.get("questions", [])}
        memory.status = (state.get("status") or {}).get("status", "idle")
        memory.title = (state.get("session") or {}).get("title")
        memory.revert = (state.get("session") or {}).get("revert")
        for message in state.get("messages", []):
            for part in message.get("parts", []):
                memory.part_messages[part["id"]] = message["id"]
                if part.get("kind") == "diff":
                    memory.diffs[message["id"]] = part.get("files") or []

    # ----- the event stream ---------------------------------------------------------------------

    def on_event(self, payload: dict[str, Any]) -> list[Emitted]:
        type_ = payload.get("type")
        props = payload.get("properties") or {}
        handler = getattr(self, "_on_" + str(type_).replace(".", "_"), None)
        return handler(props) if handler else []

    def _on_message_updated(self, props: dict[str, Any]) -> list[Emitted]:
        return self.message(props["sessionID"], props["info"])

    def _on_message_part_updated(self, props: dict[str, Any]) -> list[Emitted]:
        part = props["part"]
        return self.part(props["sessionID"], part["messageID"], part)

    def _on_message_part_delta(self, props: dict[str, Any]) -> list[Emitted]:
        if props.get("field") != "text":
            return []
        ref, part_id = props["sessionID"], props["partID"]
        memory = self._memory(ref)
        if memory.forgotten(props["messageID"]):
            return []
        known = memory.parts.get(part_id)
        kind = known["kind"] if known else "text"
        if known is not None:
            known["text"] = (known.get("text") or "") + props["delta"]
        else:
            memory.parts[part_id] = {"id": part_id, "kind": kind, "text": props["delta"]}
        type_ = ev.REASONING_DELTA if kind == "reasoning" else ev.TEXT_DELTA
        return [(ref, type_, {"message_id": props["messageID"], "part_id": part_id, "delta": props["delta"]})]

    def _on_session_status(self, props: dict[str, Any]) -> list[Emitted]:
        return self.status(props["sessionID"], props.get("status") or {})

    def _on_session_idle(self, props: dict[str, Any]) -> list[Emitted]:
        return self.status(props["sessionID"], {"type": "idle"})

    def _on_session_error(self, props: dict[str, Any]) -> list[Emitted]:
        error = error_of(props.get("error"))
        if not props.get("sessionID") or error is None or error["name"] == "aborted":
            return []  # an abort shows on the message itself
        return [(props["sessionID"], ev.ERROR, {"message": error["message"], "code": error["name"]})]

    def _on_session_updated(self, props: dict[str, Any]) -> list[Emitted]:
        info = props.get("info") or {}
        ref = props.get("sessionID") or info.get("id")
        if not ref:
            return []
        memory = self._memory(ref)
        out = self.revert_state(ref, info)
        title = info.get("title")
        if not title or title == memory.title or _PLACEHOLDER_TITLE.match(title):
            return out  # OpenCode's stand-in ("New session - <time>") until its title agent answers
        memory.title = title
        return [*out, (ref, ev.SESSION_UPDATED, {"session": {"title": title}})]

    def _on_permission_asked(self, props: dict[str, Any]) -> list[Emitted]:
        return self.permission_asked(props)

    def _on_permission_replied(self, props: dict[str, Any]) -> list[Emitted]:
        ref = props["sessionID"]
        memory = self._memory(ref)
        if props["requestID"] not in memory.permissions:
            return []
        memory.permissions.discard(props["requestID"])
        out: list[Emitted] = [(ref, ev.PERMISSION_ANSWERED, {"permission_id": props["requestID"],
                                                              "reply": props.get("reply")})]
        return out + self._unblocked(ref, memory)

    def _on_question_asked(self, props: dict[str, Any]) -> list[Emitted]:
        return self.question_asked(props)

    def _on_question_replied(self, props: dict[str, Any]) -> list[Emitted]:
        return self.question_answered(props["sessionID"], props["requestID"], props.get("answers") or [], False)

    def _on_question_rejected(self, props: dict[str, Any]) -> list[Emitted]:
        return self.question_answered(props["sessionID"], props["requestID"], None, True)

    def _unblocked(self, ref: str, memory: _SessionMemory, resume: str = "busy") -> list[Emitted]:
        """Back to work (or idle, for a detached question) once nothing waits for the user."""
        if memory.permissions or memory.questions or memory.status != "waiting":
            return []
        memory.status = resume
        return [(ref, ev.SESSION_STATUS, {"status": resume})]

    def detached_questions(self, ref: str) -> list[dict[str, Any]]:
        return [dict(q) for q in self._memory(ref).questions.values() if q.get("detached")]

    # ----- shared by the stream and reconciliation ----------------------------------------------

    def message(self, ref: str, info: dict[str, Any]) -> list[Emitted]:
        memory = self._memory(ref)
        if memory.forgotten(info["id"]):
            return []  # an old message only the store holds now (transcript.KEEP_MESSAGES)
        out: list[Emitted] = []
        seen = memory.messages.get(info["id"])
        if seen is None:
            seen = memory.messages[info["id"]] = {"ended": False, "tokens": None, "cost": None,
                                                  "role": info.get("role", "assistant"),
                                                  "created": seconds((info.get("time") or {}).get("created"))}
            out.append((ref, ev.MESSAGE_START, {"message": message_of(info)}))
        if info.get("parentID"):
            memory.parents[info["id"]] = info["parentID"]
        if info.get("role") == "user" and isinstance((info.get("summary") or {}).get("diffs"), list):
            out += self.message_diff(ref, info["id"], info["summary"]["diffs"])
        if info.get("role") == "assistant":
            tokens, cost = tokens_of(info.get("tokens")), float(info.get("cost") or 0.0)
            if tokens != seen["tokens"] or cost != seen["cost"]:
                seen["tokens"], seen["cost"] = tokens, cost
                if any(tokens.values()) or cost:
                    out.append((ref, ev.USAGE, {"message_id": info["id"], "tokens": tokens, "cost": cost}))
        completed = seconds((info.get("time") or {}).get("completed"))
        if info.get("role") == "user" and not seen["ended"]:
            completed = completed or seconds((info.get("time") or {}).get("created"))
        if completed and not seen["ended"]:
            seen["ended"] = True
            out.append((ref, ev.MESSAGE_END, {"message_id": info["id"], "finish": info.get("finish"),
                                              "error": error_of(info.get("error")), "completed_at": completed}))
            _release_old_parts(memory)
        return out

    def part(self, ref: str, message_id: str, raw: dict[str, Any], *, reconciling: bool = False) -> list[Emitted]:
        part = part_of(raw)
        if part is None:
            return []
        memory = self._memory(ref)
        if (reconciling and message_id in memory.released) or memory.forgotten(message_id):
            return []  # an old message: its parts are in the store, and OpenCode's are the same
        memory.part_messages[part["id"]] = message_id
        part = self._with_real_diff(memory, message_id, part)
        previous = memory.parts.get(part["id"])
        if previous == part:
            return []
        if reconciling and previous is not None and part["kind"] in ("text", "reasoning") \
                and (previous.get("text") or "").startswith(part["text"]):
            # OpenCode saves a streaming part's text only when the part ends (and a killed
            # OpenCode never ends it); what Nexus holds, and the user saw, is further along.
            return []
        if reconciling and previous is not None and part["kind"] == "tool" \
                and previous.get("status") in ("completed", "error") and part["status"] in ("pending", "running"):
            # A killed OpenCode keeps the tool "running" in its store; Nexus closed it as
            # interrupted, and a closed tool never runs again.
            return []
        memory.parts[part["id"]] = dict(part)
        memory.owners[part["id"]] = message_id
        data = {"message_id": message_id, "part": part}
        if part["kind"] != "tool":
            return [(ref, ev.PART_UPDATE, data)]
        if part["status"] in ("completed", "error"):
            return [(ref, ev.TOOL_END, data)]
        return [(ref, ev.TOOL_START if previous is None else ev.TOOL_UPDATE, data)]

    def status(self, ref: str, status: dict[str, Any]) -> list[Emitted]:
        memory = self._memory(ref)
        kind = status.get("type") or "idle"
        if kind == "busy" and (memory.permissions or memory.questions):
            kind = "waiting"
        elif kind == "idle" and any(q.get("detached") for q in memory.questions.values()):
            kind = "waiting"  # OpenCode forgot the question, the user has not answered it yet
        data: dict[str, Any] = {"status": kind}
        if kind == "retry":
            data.update(attempt=status.get("attempt"), message=status.get("message"),
                        next_at=seconds(status.get("next")))
        elif kind == memory.status:
            return []  # OpenCode repeats "busy" several times per turn
        memory.status = kind
        return [(ref, ev.SESSION_STATUS, data)]

    def permission_asked(self, props: dict[str, Any]) -> list[Emitted]:
        ref = props["sessionID"]
        memory = self._memory(ref)
        if props["id"] in memory.permissions:
            return []
        memory.permissions.add(props["id"])
        out: list[Emitted] = [(ref, ev.PERMISSION_ASKED, {"permission": permission_of(props)})]
        if memory.status != "waiting":
            memory.status = "waiting"
            out.append((ref, ev.SESSION_STATUS, {"status": "waiting"}))
        return out

    def interrupt(self, ref: str, reason: str, *, before: float | None = None,
                  now: float | None = None) -> list[Emitted]:
        """Close every reply of `ref` that is still open (begun before `before`, UNIX seconds):
        its running tools end as errors and the message ends with finish "interrupted" and the
        reason, so the page never draws a cut-off reply as finished or a tool as running."""
        memory = self._memory(ref)
        now = now if now is not None else time.time()
        out: list[Emitted] = []
        for stale in sorted(memory.permissions):  # the run that asked is gone: no prompt to answer
            memory.permissions.discard(stale)
            out.append((ref, ev.PERMISSION_ANSWERED, {"permission_id": stale, "reply": None}))
        for message_id, seen in memory.messages.items():
            if seen["ended"] or seen.get("role") == "user":
                continue
            created = seen.get("created")
            if before is not None and created is not None and created >= before:
                continue  # begun after OpenCode said "idle": a new reply, not a cut-off one
            for part_id, owner in memory.owners.items():
                part = memory.parts.get(part_id)
                if owner != message_id or part is None or part.get("kind") != "tool" \
                        or part.get("status") not in ("pending", "running"):
                    continue
                closed = {**part, "status": "error", "error": f"Interrupted: {reason}", "ended_at": now}
                memory.parts[part_id] = closed
                out.append((ref, ev.TOOL_END, {"message_id": message_id, "part": dict(closed)}))
            seen["ended"] = True
            out.append((ref, ev.MESSAGE_END, {"message_id": message_id, "finish": INTERRUPTED,
                                              "error": {"name": INTERRUPTED, "message": f"Interrupted: {reason}"},
                                              "completed_at": now}))
        return out

    def question_asked(self, props: dict[str, Any], *, detached: bool = False) -> list[Emitted]:
        ref = props["sessionID"]
        memory = self._memory(ref)
        question = question_of(props)
        if detached:
            question["detached"] = True
        if memory.questions.get(question["id"]) == question:
            return []
        memory.questions[question["id"]] = question
        out: list[Emitted] = [(ref, ev.QUESTION_ASKED, {"question": question})]
        if memory.status != "waiting":
            memory.status = "waiting"
            out.append((ref, ev.SESSION_STATUS, {"status": "waiting"}))
        return out

    def question_answered(self, ref: str, question_id: str, answers: list[list[str]] | None,
                          rejected: bool) -> list[Emitted]:
        memory = self._memory(ref)
        question = memory.questions.pop(question_id, None)
        if question is None:
            return []
        out: list[Emitted] = [(ref, ev.QUESTION_ANSWERED, {"question_id": question_id, "answers": answers,
                                                            "rejected": rejected})]
        if question.get("detached"):
            out += self._close_question_tool(ref, question, answers, rejected)
        return out + self._unblocked(ref, memory, "idle" if question.get("detached") else "busy")

    def _close_question_tool(self, ref: str, question: dict[str, Any], answers: list[list[str]] | None,
                             rejected: bool) -> list[Emitted]:
        """A detached question's tool call: OpenCode, restarted, will never end it, so Nexus
        does once the user answered here (the answer itself goes as the next message)."""
        memory = self._memory(ref)
        for part_id, part in memory.parts.items():
            if part.get("kind") != "tool" or part.get("call_id") != question.get("call_id") \
                    or part.get("status") not in ("pending", "running"):
                continue
            if rejected:
                closed = {**part, "status": "error", "error": "Dismissed", "ended_at": time.time()}
            else:
                said = "; ".join(", ".join(a) for a in answers or [])
                closed = {**part, "status": "completed", "ended_at": time.time(),
                          "output": f"Answered after OpenCode restarted (sent as the next message): {said}"}
            memory.parts[part_id] = closed
            return [(ref, ev.TOOL_END, {"message_id": memory.owners.get(part_id), "part": dict(closed)})]
        return []

    def _settle_questions(self, ref: str, messages: list[dict[str, Any]],
                          pending: list[dict[str, Any]]) -> list[Emitted]:
        """Questions Nexus holds that OpenCode no longer lists: answered or dismissed elsewhere
        (the question tool's part says which), or lost with a restarted OpenCode (its part is
        still running): those stay, detached, until the user answers them here."""
        memory = self._memory(ref)
        listed = {q["id"] for q in pending}
        tools = {raw.get("callID"): raw.get("state") or {} for entry in messages for raw in entry.get("parts") or []
                 if raw.get("type") == "tool" and raw.get("tool") == "question"}
        out: list[Emitted] = []
        for question_id, question in sorted(memory.questions.items()):
            if question_id in listed or question.get("detached"):
                continue
            state = tools.get(question.get("call_id")) or {}
            if state.get("status") == "completed":
                out += self.question_answered(ref, question_id, (state.get("metadata") or {}).get("answers"), False)
            elif state.get("status") == "error":
                out += self.question_answered(ref, question_id, None, True)
            else:
                out += self.question_asked({"id": question_id, "sessionID": ref, "questions": question["questions"],
                                            "tool": {"callID": question.get("call_id"),
                                                     "messageID": question.get("message_id")}}, detached=True)
        for props in pending:
            out += self.question_asked(props)
        return out

    def reconcile(self, ref: str, messages: list[dict[str, Any]], busy: dict[str, Any] | None,
                  pending: list[dict[str, Any]], questions: list[dict[str, Any]] | None = None, *,
                  interrupted: str | None = None, idle_since: float | None = None) -> list[Emitted]:
        """Bring a session up to date from OpenCode's REST answers after a (re)connect:
        its messages, its entry in /session/status (None when idle), its pending permissions
        and questions. When the session is idle, a reply still open is closed with
        `interrupted` as reason (replies begun after `idle_since`, when the status was read,
        are left alone)."""
        out: list[Emitted] = []
        for entry in messages:
            info = entry["info"]
            out += self.message(ref, {**info, "time": {**(info.get("time") or {}), "completed": None}})
            for raw in entry.get("parts") or []:
                out += self.part(ref, info["id"], raw, reconciling=True)
            out += self.message(ref, info)
        memory = self._memory(ref)
        pending_ids = {p["id"] for p in pending}
        for stale in sorted(memory.permissions - pending_ids):
            memory.permissions.discard(stale)
            out.append((ref, ev.PERMISSION_ANSWERED, {"permission_id": stale, "reply": None}))
        for props in pending:
            out += self.permission_asked(props)
        out += self._settle_questions(ref, messages, questions or [])
        if busy is None and interrupted:
            out += self.interrupt(ref, interrupted, before=idle_since)
        out += self.status(ref, busy or {"type": "idle"})
        return out

    # ----- parity-b: undo state, to-dos, removed messages, per-message diffs -----------------

    def _on_todo_updated(self, props: dict[str, Any]) -> list[Emitted]:
        todos = [todo_of(t) for t in props.get("todos") or [] if isinstance(t, dict)]
        return [(props["sessionID"], ev.TODO_UPDATED, {"todos": todos})]

    def _on_message_removed(self, props: dict[str, Any]) -> list[Emitted]:
        ref, message_id = props["sessionID"], props["messageID"]
        memory = self._memory(ref)
        memory.messages.pop(message_id, None)
        memory.released.discard(message_id)
        memory.diffs.pop(message_id, None)
        for part_id in [p for p, m in memory.part_messages.items() if m == message_id]:
            memory.part_messages.pop(part_id, None)
            memory.parts.pop(part_id, None)
        return [(ref, ev.MESSAGE_REMOVED, {"message_id": message_id})]

    def revert_state(self, ref: str, info: dict[str, Any]) -> list[Emitted]:
        """A session.updated (or a REST session) carries `revert` while the session is undone."""
        memory = self._memory(ref)
        revert = revert_of(info.get("revert"))
        if revert == memory.revert:
            return []
        memory.revert = revert
        return [(ref, ev.SESSION_UPDATED, {"session": {"revert": revert}})]

    def message_diff(self, ref: str, message_id: str,
                             diffs: list[dict[str, Any]]) -> list[Emitted]:
        """What a user message's turn changed, as a `diff` part of that message; a `write` that
        overwrote one of those files gets the file's real diff (OpenCode's write reports none)."""
        memory = self._memory(ref)
        files = [diff_file_of(d) for d in diffs if isinstance(d, dict)]
        if files == memory.diffs.get(message_id, []):
            return []
        memory.diffs[message_id] = files
        out: list[Emitted] = [(ref, ev.PART_UPDATE, {"message_id": message_id,
                                                     "part": {"id": f"{message_id}-diff", "kind": "diff",
                                                              "files": files}})]
        for part_id, owner in list(memory.part_messages.items()):
            known = memory.parts.get(part_id)
            if known is None or known.get("tool") != "write" or memory.parents.get(owner) != message_id:
                continue
            updated = self._with_real_diff(memory, owner, dict(known))
            if updated != known:
                memory.parts[part_id] = dict(updated)
                out.append((ref, ev.TOOL_END if updated["status"] in ("completed", "error") else ev.TOOL_UPDATE,
                            {"message_id": owner, "part": updated}))
        return out

    def _with_real_diff(self, memory: _SessionMemory, message_id: str,
                               part: dict[str, Any]) -> dict[str, Any]:
        if part.get("kind") != "tool" or part.get("tool") != "write" or part.get("status") != "completed":
            return part
        files = memory.diffs.get(memory.parents.get(message_id, ""), [])
        metadata = part.get("metadata") or {}
        path = metadata.get("filepath") or (part.get("input") or {}).get("filePath") or ""
        match = next((f for f in files if f["patch"] and _same_file(path, f["file"])), None)
        if match is None or metadata.get("diff") == match["patch"]:
            return part
        return {**part, "metadata": {**metadata, "diff": match["patch"]}}


def todo_of(todo: dict[str, Any]) -> dict[str, Any]:
    return {"content": str(todo.get("content") or ""), "status": str(todo.get("status") or "pending"),
            "priority": str(todo.get("priority") or "medium")}


def diff_file_of(diff: dict[str, Any]) -> dict[str, Any]:
    return {"file": diff.get("file") or diff.get("path") or "", "patch": diff.get("patch") or "",
            "additions": int(diff.get("additions") or 0), "deletions": int(diff.get("deletions") or 0),
            "status": diff.get("status") or "modified"}


def revert_of(revert: dict[str, Any] | None) -> dict[str, Any] | None:
    if not revert or not revert.get("messageID"):
        return None
    return {"message_id": revert["messageID"], "diff": revert.get("diff") or ""}


def _same_file(path: str, file: str) -> bool:
    return bool(path and file) and (path == file or path.endswith("/" + file.lstrip("/")))
