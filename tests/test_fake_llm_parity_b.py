"""The fake provider's parity-b triggers: the tool calls they plan, with their arguments
reassembled as a client would (the real OpenCode runs them in tests/test_chat_parity_b.py)."""

from __future__ import annotations

import json

from tests.fakes.fake_llm import _aggregate, _Ids, plan_reply


def call_of(text: str) -> tuple[str, dict]:
    plan = plan_reply({"messages": [{"role": "user", "content": text}], "tools": [{"type": "function"}]}, _Ids())
    assert isinstance(plan, list)
    message, finish = _aggregate(plan)
    assert finish == "tool_calls"
    [call] = message["tool_calls"]
    return call["function"]["name"], json.loads(call["function"]["arguments"])


def test_todo_task_and_overwrite_plan_their_tool_calls() -> None:
    assert call_of("TODO:Write tests=completed|Fix bug=in_progress|Ship it") == ("todowrite", {"todos": [
        {"content": "Write tests", "status": "completed", "priority": "medium"},
        {"content": "Fix bug", "status": "in_progress", "priority": "medium"},
        {"content": "Ship it", "status": "pending", "priority": "medium"}]})
    assert call_of("TASK:look around") == ("task", {"description": "Sub-task", "prompt": "look around",
                                                    "subagent_type": "general"})
    # OVERWRITE: contains WRITE: and must not be taken for it; "\n" becomes a newline.
    assert call_of("OVERWRITE:notes.txt:alpha\\nBETA") == ("write", {"filePath": "notes.txt",
                                                                     "content": "alpha\nBETA"})
    assert call_of("WRITE:a.txt:x\\ny") == ("write", {"filePath": "a.txt", "content": "x\\ny"})
