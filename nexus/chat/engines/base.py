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

    def live_sessions(self, engine: str) -> list[tuple[str, str]]: ...

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
    def prompt(self, engine_ref: str, *, text: str, files: list[dict[str, Any]], agent: str | None,
               model: str | None, options: dict[str, Any] | None = None) -> None: ...

    def abort(self, engine_ref: str) -> None: ...

    def reply_permission(self, engine_ref: str, permission_id: str, reply: str, message: str | None) -> None: ...

    def rename(self, engine_ref: str, title: str) -> None: ...

    def delete(self, engine_ref: str) -> None: ...

    def models(self) -> list[dict[str, Any]]: ...

    def agents(self) -> list[dict[str, Any]]: ...
