"""Helpers for chat tests: read a hub client until something happens."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from nexus.chat.events import ChatEvent
from nexus.chat.hub import ClientStream
from tests.wait_helpers import wait_until

if TYPE_CHECKING:
    from nexus.runtime import Runtime


def collect(client: ClientStream, until: Callable[[ChatEvent], bool], timeout: float = 30.0) -> list[ChatEvent]:
    """Events from `client` up to and including the first one `until` accepts."""
    events: list[ChatEvent] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = client.get(timeout=0.2)
        if event is None:
            continue
        events.append(event)
        if until(event):
            return events
    seen = [f"{e.type}:{e.data.get('status', '')}" for e in events[-15:]]
    raise AssertionError(f"timed out after {timeout} s; last events: {seen}")


def ended(role: str = "assistant", finish: str | None = "stop") -> Callable[[ChatEvent], bool]:
    def check(event: ChatEvent) -> bool:
        return event.type == "message.end" and (finish is None or event.data.get("finish") == finish)
    return check


def status_is(status: str) -> Callable[[ChatEvent], bool]:
    return lambda e: e.type == "session.status" and e.data["status"] == status


def text_of(events: list[ChatEvent], kind: str = "text") -> str:
    return "".join(e.data["delta"] for e in events if e.type == f"{kind}.delta")


def wait_for_opencode(rt: Runtime, timeout: float = 40.0, *, not_pid: int | None = None) -> None:
    """Until OpenCode runs and the engine follows its event stream: a prompt before that is lost.
    With `not_pid`: until a new OpenCode (another process than that one) does, after a restart."""
    from nexus.server import ServerState

    wait_until(lambda: rt.supervisor.state == ServerState.RUNNING and rt.supervisor.pid != not_pid
               and rt.chat.engines["opencode"].connected.is_set(), timeout,
               "OpenCode running and the event stream connected" + (" after the restart" if not_pid else ""))
