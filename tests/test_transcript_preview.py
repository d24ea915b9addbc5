"""What the session page paints from its snapshot before its script runs."""

from __future__ import annotations

from typing import Any

from nexus.ui.transcript_preview import PREVIEW_MESSAGES, transcript_preview


def message(i: int, role: str, parts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": f"m{i}", "role": role, "completed_at": 1.0, "parts": parts, **extra}


def text(i: int, body: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"p{i}", "kind": "text", "text": body, **extra}


def snapshot(messages: list[dict[str, Any]], **session: Any) -> dict[str, Any]:
    return {"session": {"title": "Fix the build", "engine": "opencode", "state": "active", **session},
            "messages": messages, "status": {"status": "busy"}}


def test_the_newest_messages_only_with_the_headers_words() -> None:
    messages = [message(i, "user" if i % 2 == 0 else "assistant", [text(i, f"**{i}**")],
                        model="fake/m" if i % 2 else None, agent="build" if i % 2 else None) for i in range(40)]
    p = transcript_preview(snapshot(messages))
    assert [m["id"] for m in p["messages"]] == [f"m{i}" for i in range(40 - PREVIEW_MESSAGES["full"], 40)]
    assert (p["title"], p["status"], p["status_word"], p["agent"], p["model"]) == \
        ("Fix the build", "busy", "Working", "build", "fake/m")
    reply = p["messages"][-1]["parts"][0]
    assert str(reply["html"]).strip() == "<p><strong>39</strong></p>"
    # The user's own words are text, never markup.
    assert p["messages"][-2]["parts"][0]["html"] is None and p["messages"][-2]["parts"][0]["text"] == "**38**"


def test_only_the_last_user_message_is_editable_and_rewinds_follow_the_engine() -> None:
    messages = [message(0, "user", [text(0, "a")]), message(1, "assistant", [text(1, "b")]),
                message(2, "user", [text(2, "c")])]
    p = transcript_preview(snapshot(messages))
    assert [m["editable"] for m in p["messages"]] == [False, False, True]
    assert p["rewinds"] is True
    assert transcript_preview(snapshot(messages, engine="anthropic"))["rewinds"] is False


def test_tools_reasoning_files_and_errors_as_the_view_names_them() -> None:
    parts = [
        {"id": "t", "kind": "tool", "tool": "bash", "status": "completed", "input": {"command": "make test"}},
        {"id": "t2", "kind": "tool", "tool": "read", "status": "running", "title": "src/app.py", "input": "odd"},
        {"id": "r", "kind": "reasoning", "text": "\n  First I look.\nThen I act."},
        {"id": "f", "kind": "file", "filename": "notes.txt", "mime": "text/plain"},
        {"id": "d", "kind": "diff", "files": [{"additions": 3, "deletions": "x"}, {"additions": "2", "deletions": 1}]},
        text(9, "ignored", synthetic=True),
    ]
    p = transcript_preview(snapshot([message(0, "assistant", parts, error={"name": "interrupted", "message": "Cut."})]))
    shown = p["messages"][0]
    assert [(x["kind"], x.get("subject"), x.get("state")) for x in shown["parts"][:2]] == \
        [("tool", "make test", "Done"), ("tool", "src/app.py", "Running")]
    assert shown["parts"][2]["preview"] == "First I look."
    assert shown["parts"][4]["count"] == 2 and shown["parts"][4]["added"] == 5 and shown["parts"][4]["removed"] == 1
    assert shown["parts"][5]["synthetic"] is True
    assert shown["error"] == {"class": "msg-interrupted", "message": "Cut."}
    assert p["context_used"] is False


def test_an_empty_session_still_has_its_header() -> None:
    p = transcript_preview({"session": {}, "messages": []})
    assert p["title"] == "Untitled session" and p["messages"] == [] and p["status"] == "idle"
    assert p["agent"] == "default agent" and p["model"] == "default model"


def test_a_card_shows_fewer_and_links_to_its_session() -> None:
    messages = [message(i, "user" if i % 2 == 0 else "assistant", [text(i, str(i))]) for i in range(20)]
    p = transcript_preview(snapshot(messages, id="s_card"), "card")
    assert (p["mode"], p["id"]) == ("card", "s_card")
    assert [m["id"] for m in p["messages"]] == [f"m{i}" for i in range(20 - PREVIEW_MESSAGES["card"], 20)]
