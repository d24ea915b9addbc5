"""Races and waits that used to hang or lose events: shutdown during a hung start, and a
session's engine reference looked up while it was being created."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from nexus.runtime import Runtime
from nexus.server import ServerState
from tests.wait_helpers import wait_until


def test_shutdown_during_a_hung_start_is_quick(tmp_path: Path, no_leftover_processes, make_runtime) -> None:
    hung = tmp_path / "opencode"
    hung.write_text("#!/bin/sh\necho starting but never listening\nexec sleep 120\n")
    hung.chmod(0o755)
    rt = make_runtime()
    try:
        rt.settings.update({"server.binary": str(hung), "server.autostart": True, "server.start_timeout": 60})
        rt.supervisor.start_background()
        wait_until(lambda: rt.supervisor.state == ServerState.STARTING and rt.supervisor._process is not None
                   and rt.supervisor._process.pid, 20, "the start to begin")
        began = time.monotonic()
        rt.supervisor.shutdown()
        took = time.monotonic() - began
    finally:
        rt.stop()
    assert took < 8, f"shutdown took {took:.1f} s during a start that would wait 60 s"
    assert rt.supervisor.state == ServerState.STOPPED


def test_a_lookup_racing_create_never_caches_not_ours(runtime: Runtime, monkeypatch) -> None:
    chat = runtime.chat
    looked_up = threading.Event()
    recorded = threading.Event()
    real_find = chat.repo.find_by_engine_ref

    def slow_find(engine: str, ref: str):
        found = real_find(engine, ref)  # not there yet: create() has not stored it
        looked_up.set()
        recorded.wait(10)  # create() records the new session meanwhile
        return found

    monkeypatch.setattr(chat.repo, "find_by_engine_ref", slow_find)
    answer: list[str | None] = []
    lookup = threading.Thread(target=lambda: answer.append(chat.session_for("opencode", "ses_new")),
                              name="test-lookup")
    lookup.start()
    try:
        assert looked_up.wait(10)
        chat.repo.create_session({"id": "s_new", "engine": "opencode", "engine_ref": "ses_new", "title": "t",
                                  "state": "active", "status": "idle"})
        chat._refs[("opencode", "ses_new")] = "s_new"  # what create() does after storing it
        recorded.set()
    finally:
        recorded.set()
        lookup.join(10)
    assert chat.session_for("opencode", "ses_new") == "s_new", "the new session's events are delivered"
