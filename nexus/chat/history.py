"""Going back in a session: undo to before a message and redo, fork from a message into a
new session, edit and resend the last message; and what a session's agent planned and
started (its to-do list, its sub-agent sessions) and changed (its diffs).

Undo is OpenCode's revert: the messages stay (shown as undone) and the files are restored
from OpenCode's snapshots until the next prompt drops them for good, or a redo brings them
back. The Anthropic engine has no snapshots: there, editing the last message drops it and
its reply from the conversation before sending the new text; files stay as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nexus.chat import events as ev

if TYPE_CHECKING:
    from nexus.chat.service import ChatService

BUSY = ("busy", "retry", "waiting")


def _error(message: str, status: int, code: str) -> Exception:
    from nexus.chat.service import ChatError

    return ChatError(message, status, code)


class SessionHistory:
    def __init__(self, chat: ChatService) -> None:
        self._chat = chat

    # ----- checks -------------------------------------------------------------------------------

    def _session(self, session_id: str, *, idle: bool = False) -> dict[str, Any]:
        session = self._chat.get(session_id)
        if idle and session.get("status") in BUSY:
            raise _error("The agent is still working. Stop it or wait.", 409, "busy")
        return session

    def _engine_with(self, session: dict[str, Any], operation: str) -> Any:
        engine = self._chat.engines.get(session["engine"])
        if engine is None or not hasattr(engine, operation):
            raise _error(f"The {session['engine']} engine cannot {operation} a session.", 400, "not_supported")
        return engine

    def _message(self, session_id: str, message_id: Any) -> dict[str, Any]:
        """A message of this session: one of another session (or none) changes nothing."""
        if not isinstance(message_id, str) or not message_id:
            raise _error("Name the message: message_id.", 400, "bad_request")
        stream = self._chat.hub.stream(session_id)
        with stream.lock:
            message = stream.transcript.messages.get(message_id)
            if message is not None:
                return {k: v for k, v in message.items() if k != "parts"}
        if self._chat.repo.message_session(message_id) == session_id:
            return {"id": message_id}
        raise _error("That message is not part of this session.", 404, "no_such_message")

    # ----- undo, redo, fork, edit ---------------------------------------------------------------

    def revert(self, session_id: str, message_id: Any) -> dict[str, Any]:
        session = self._session(session_id, idle=True)
        engine = self._engine_with(session, "revert")
        self._message(session_id, message_id)
        engine.revert(session["engine_ref"], message_id)
        return self._chat.get(session_id)

    def unrevert(self, session_id: str) -> dict[str, Any]:
        session = self._session(session_id, idle=True)
        engine = self._engine_with(session, "unrevert")
        if not session.get("revert"):
            raise _error("Nothing was undone in this session.", 409, "nothing_to_redo")
        engine.unrevert(session["engine_ref"])
        return self._chat.get(session_id)

    def fork(self, session_id: str, message_id: Any = None) -> dict[str, Any]:
        """A new session with this one's conversation before `message_id` (all of it without)."""
        from nexus.chat.service import MAX_ACTIVE

        session = self._session(session_id)
        engine = self._engine_with(session, "fork")
        if message_id is not None:
            self._message(session_id, message_id)
        if self._chat.repo.count_active() >= MAX_ACTIVE:
            raise _error(f"{MAX_ACTIVE} sessions are open already. Close or archive one to fork this one.",
                         409, "too_many_active")
        created = engine.fork(session["engine_ref"], message_id)
        fork_id = self._chat.adopt_engine_session(session["engine"], created["engine_ref"], {
            "title": created.get("title") or f"{session['title']} (fork)", "agent": session.get("agent"),
            "model": session.get("model"), "directory": created.get("directory"),
            "options": session.get("options")})
        engine.catch_up(fork_id, created["engine_ref"])
        return self._chat.get(fork_id)

    def edit_last(self, session_id: str, text: Any) -> None:
        """Replace the last message the user sent with `text`, and send it again."""
        if not isinstance(text, str) or not text.strip():
            raise _error("Write the new text of the message.", 400, "empty_prompt")
        session = self._session(session_id, idle=True)
        stream = self._chat.hub.stream(session_id)
        with stream.lock:
            ordered = list(stream.transcript.messages.values())
        last = next((m for m in reversed(ordered) if m["role"] == "user"), None)
        if last is None:
            raise _error("There is no message of yours to edit yet.", 409, "nothing_to_edit")
        engine = self._chat.engines.get(session["engine"])
        if engine is not None and hasattr(engine, "revert"):
            # OpenCode drops the undone messages itself when the new text arrives.
            engine.revert(session["engine_ref"], last["id"])
        else:
            for message in ordered[ordered.index(last):]:
                self._chat.emit(session_id, ev.MESSAGE_REMOVED, {"message_id": message["id"]})
        self._chat.prompt(session_id, text=text)

    # ----- what the agent planned, started and changed ------------------------------------------

    def todos(self, session_id: str) -> list[dict[str, Any]]:
        return list(self._session(session_id).get("todos") or [])

    def children(self, session_id: str) -> list[dict[str, Any]]:
        self._session(session_id)
        return [self._chat.get(child["id"]) for child in self._chat.repo.children(session_id)]

    def diff(self, session_id: str, message_id: Any = None) -> list[dict[str, Any]]:
        session = self._session(session_id)
        engine = self._engine_with(session, "diff")
        if message_id is not None:
            self._message(session_id, message_id)
        return engine.diff(session["engine_ref"], message_id)

