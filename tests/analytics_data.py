"""Known chat sessions across two days and a time-zone boundary, and what analytics must say about them.

In Europe/Berlin (UTC+1 in November) session 2 starts at 00:30 on the 11th; in UTC it is
23:30 on the 10th. Shared by the API test and the browser test.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nexus.chat.repository import ChatRepository


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC).timestamp()


def _tokens(inp: int = 0, out: int = 0, reasoning: int = 0, cache_read: int = 0, cache_write: int = 0) -> dict:
    return {"input": inp, "output": out, "reasoning": reasoning, "cache_read": cache_read, "cache_write": cache_write}


def _session(repo: ChatRepository, sid: str, at: float, model: str | None, **extra) -> None:
    repo.create_session({"id": sid, "engine": "opencode", "engine_ref": f"ref-{sid}", "title": f"Session {sid}",
                         "agent": extra.pop("agent", "build"), "model": model, "created_at": at, "updated_at": at,
                         **extra})


def _message(sid: str, mid: str, role: str, at: float, **extra) -> dict:
    return {"id": mid, "session_id": sid, "role": role, "created_at": at, **extra}


def _tool(sid: str, mid: str, pid: str, tool: str, status: str) -> tuple[int, dict]:
    return (0, {"id": pid, "message_id": mid, "session_id": sid, "kind": "tool", "tool": tool, "status": status,
                "input": {}, "output": None})


def _text(sid: str, mid: str, pid: str, words: str) -> tuple[int, dict]:
    return (1, {"id": pid, "message_id": mid, "session_id": sid, "kind": "text", "text": words})


def insert_known_usage(repo: ChatRepository) -> None:
    _session(repo, "s1", utc(10, 9), "fake/m-a")
    repo.save(None, None, [
        _message("s1", "u1", "user", utc(10, 9)),
        _message("s1", "a1", "assistant", utc(10, 9, 0, 2), model="fake/m-a", finish="stop",
                 completed_at=utc(10, 9, 0, 10), cost=0.01, tokens=_tokens(100, 50, 5, 10, 3)),
    ], [_tool("s1", "a1", "p1", "bash", "completed"), _tool("s1", "a1", "p2", "bash", "error"),
        _tool("s1", "a1", "p3", "read", "completed"), _text("s1", "a1", "p4", "listed the files")])

    _session(repo, "s2", utc(10, 23, 30), "fake/m-b", agent="plan")
    repo.save(None, None, [
        _message("s2", "u2", "user", utc(10, 23, 30)),
        _message("s2", "a2", "assistant", utc(10, 23, 30, 5), model="fake/m-b", cost=0.02,
                 tokens=_tokens(200, 80), error={"name": "aborted", "message": "Stopped."}),
    ], [_tool("s2", "a2", "p5", "read", "running")])

    _session(repo, "s3", utc(11, 12), "fake/m-a")
    repo.save(None, None, [
        _message("s3", "u3", "user", utc(11, 12)),
        _message("s3", "a3", "assistant", utc(11, 12, 0, 3), model="fake/m-a", finish="stop",
                 completed_at=utc(11, 12, 0, 9), cost=0.03, tokens=_tokens(300, 20)),
    ], [])
    repo.update_session("s3", deleted_at=utc(11, 13))

    _session(repo, "s4", utc(9, 12), "fake/m-a", state="archived")  # the day before: outside
    repo.save(None, None, [_message("s4", "u4", "user", utc(9, 12)),
                           _message("s4", "a4", "assistant", utc(9, 12, 0, 1), model="fake/m-a", cost=0.5,
                                    tokens=_tokens(1000, 1000), finish="stop", completed_at=utc(9, 12, 0, 2))], [])

    _session(repo, "s5", utc(11, 15), None)
    repo.save(None, None, [_message("s5", "u5", "user", utc(11, 15))], [])


# What /api/analytics?start=2026-11-10&end=2026-11-12&tz=Europe/Berlin must answer.
BERLIN = {
    "sessions": 4, "messages": 7, "user_messages": 4, "assistant_messages": 3,
    "tokens": {"input": 600, "output": 150, "reasoning": 5, "cache_read": 10, "cache_write": 3},
    "cost": 0.06, "tool_calls": 4, "tool_failures": 1, "tool_failure_rate": 1 / 3,
    "median_first_token_seconds": 3.0, "first_token_samples": 3,
}
BERLIN_SESSIONS_PER_DAY = [1, 3]
UTC_SESSIONS_PER_DAY = [2, 2]
