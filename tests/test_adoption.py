"""ChatService's two ways to take an engine session into the store: a session another client of
an OpenCode server started (adopt, the hand-off) and a fork or sub-agent Nexus caused
(take_in). They once shared one name, so the second silently replaced the first."""

from __future__ import annotations

import time

from nexus.runtime import Runtime


def test_a_session_of_another_client_is_adopted_once_with_its_server(runtime: Runtime) -> None:
    now_ms = time.time() * 1000
    info = {"id": "ses_other_client", "title": "From the terminal", "directory": "/tmp",
            "time": {"created": now_ms, "updated": now_ms}}
    session_id = runtime.chat.adopt("opencode", "local", info)
    assert session_id is not None
    stored = runtime.chat.repo.get_session(session_id)
    assert stored is not None
    assert (stored["engine_ref"], stored["server"], stored["origin"], stored["state"]) == \
        ("ses_other_client", "local", "adopted", "active")
    assert runtime.chat.adopt("opencode", "local", info) is None  # already here: not twice


def test_a_sub_agent_session_is_kept_under_its_parent(runtime: Runtime) -> None:
    parent = runtime.chat.take_in("opencode", "ses_parent", {"title": "Parent"})
    child = runtime.chat.take_in("opencode", "ses_child", {"title": "Helper"}, parent_id=parent)
    stored = runtime.chat.repo.get_session(child)
    assert stored is not None and stored["parent_id"] == parent and stored["engine_ref"] == "ses_child"
