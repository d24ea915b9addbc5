"""What every engine offers, and what it is given to report events with."""

from __future__ import annotations

from typing import Any, Protocol


class EngineError(RuntimeError):
    """A command failed; the message is for people. `status` suggests the HTTP status."""

    def __init__(self, message: str, status: int = 502, code: str = "engine_error") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class EngineSink(Protocol):
    """The chat service, as an engine sees it."""

    def emit(self, session_id: str, type_: str, data: dict[str, Any]) -> None: ...

    def session_for(self, engine: str, engine_ref: str) -> str | None: ...

    def live_sessions(self, engine: str, server: str | None = None) -> list[tuple[str, str]]: ...

    def directory_for(self, engine: str, engine_ref: str) -> str | None: ...

    def adopt(self, engine: str, server: str, info: dict[str, Any]) -> str | None: ...

    def adopt_since(self) -> float | None: ...

    def transcript_state(self, session_id: str) -> dict[str, Any]: ...

    # A sub-agent's session started by the agent of `parent_id` (OpenCode's `task` tool).
    def adopt_child(self, engine: str, parent_id: str, engine_ref: str, info: dict[str, Any]) -> str: ...


class Engine(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def create_session(self, *, title: str | None, agent: str | None, model: str | None,
                       options: dict[str, Any] | None = None) -> dict[str, Any]: ...

    # `options`: a named agent's settings (system, tools, temperature, max_tokens, thinking_budget).
    # `mentions`: [{type: "file", path (absolute), relative} | {type: "agent", name}], checked already.
    def prompt(self, engine_ref: str, *, text: str, files: list[dict[str, Any]], agent: str | None,
               model: str | None, options: dict[str, Any] | None = None,
               mentions: list[dict[str, Any]] | None = None) -> None: ...

    def commands(self, engine_ref: str | None = None) -> list[dict[str, Any]]: ...

    # Runs a slash command (`commands()` lists them); its reply streams like a prompt's.
    def command(self, engine_ref: str, *, name: str, arguments: str, agent: str | None, model: str | None) -> None: ...

    # Summarizes the conversation so far to free context (OpenCode's compaction).
    def compact(self, engine_ref: str, model: str) -> None: ...

    def find_files(self, query: str, directory: str | None, limit: int = 20) -> list[str]: ...

    def abort(self, engine_ref: str) -> None: ...

    def reply_permission(self, engine_ref: str, permission_id: str, reply: str, message: str | None) -> None: ...

    # `answers` None dismisses the question (see nexus/chat/questions.py).
    def answer_question(self, engine_ref: str, question: dict[str, Any], answers: list[list[str]] | None) -> None: ...

    def rename(self, engine_ref: str, title: str) -> None: ...

    def delete(self, engine_ref: str) -> None: ...

    def models(self) -> list[dict[str, Any]]: ...

    def agents(self) -> list[dict[str, Any]]: ...
