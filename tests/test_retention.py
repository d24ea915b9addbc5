"""Retention purges chat sessions deleted longer ago than `chat.purge_deleted_days` and
expired sign-in sessions; recent ones and live sign-ins stay."""

from __future__ import annotations

import time

from nexus.auth.repository import AuthRepository, SessionRecord
from nexus.runtime import Runtime


def _session(rt: Runtime, sid: str, deleted_at: float | None) -> None:
    rt.chat.repo.create_session({"id": sid, "engine": "opencode", "engine_ref": f"ses_{sid}", "title": sid,
                                 "state": "active", "status": "idle"})
    rt.chat.repo.save({"id": sid, "title": sid}, 1, [{"id": f"msg_{sid}", "session_id": sid, "role": "user",
                                                      "created_at": 1.0, "completed_at": 1.0}],
                      [(0, {"id": f"prt_{sid}", "message_id": f"msg_{sid}", "session_id": sid, "kind": "text",
                            "text": f"words of {sid}", "index": True})])
    if deleted_at is not None:
        rt.chat.repo.update_session(sid, deleted_at=deleted_at)


def test_old_deleted_sessions_and_expired_sign_ins_are_purged(runtime: Runtime) -> None:
    now = time.time()
    runtime.settings.update({"chat.purge_deleted_days": 7, "security.session_idle_minutes": 30})
    _session(runtime, "s_old", now - 8 * 86400)
    _session(runtime, "s_recent", now - 6 * 86400)
    _session(runtime, "s_live", None)
    auth = AuthRepository(runtime.db)
    for sid, last_seen, expires in (("a" * 64, now - 10, now + 3600), ("b" * 64, now - 3600, now + 3600),
                                    ("c" * 64, now - 10, now - 1)):
        auth.add_session(SessionRecord(sid, "password", now - 7200, last_seen, expires, "127.0.0.1", "local", ""))

    report = runtime.retention.run_once(now)

    assert report["purged_sessions"] == ["s_old"]
    assert runtime.chat.repo.get_session("s_old", include_deleted=True) is None
    assert runtime.chat.repo.load_messages("s_old")[0] == [], "its messages and parts went with it"
    assert runtime.chat.repo.get_session("s_recent", include_deleted=True) is not None, "still restorable"
    assert runtime.chat.repo.get_session("s_live") is not None
    assert "s_old" not in [hit["session_id"] for hit in runtime.chat.repo.search("words", 10, deleted=True)]
    assert "s_recent" in [hit["session_id"] for hit in runtime.chat.repo.search("words", 10, deleted=True)]
    assert auth.session("a" * 64) is not None, "a live sign-in stays"
    assert auth.session("b" * 64) is None and auth.session("c" * 64) is None, "idle and expired go"


def test_zero_days_keeps_deleted_sessions(runtime: Runtime) -> None:
    runtime.settings.update({"chat.purge_deleted_days": 0})
    _session(runtime, "s_old", time.time() - 3650 * 86400)
    assert runtime.retention.run_once()["purged_sessions"] == []
    assert runtime.chat.repo.get_session("s_old", include_deleted=True) is not None
