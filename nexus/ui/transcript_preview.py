"""What a session page paints before its script runs: the newest messages, as HTML.

A long session's page used to show "Loading…" until its ~40 modules had loaded and its view had
drawn (bench/long_session.py: the last message visible at ~6x a trivial page's first paint).
Now templates/session_preview.html draws the newest messages of the page's snapshot on the
server, in the browser view's structure and classes (js/chat/render/message.js), so they are
painted with the page; the page's script replaces them with its own view once it has loaded.
The main page's cards are drawn the same way, each where its card will be.

Only what the reader sees first is drawn: the text of each part (markdown sanitized by
nexus/ui/markdown_html.py), a tool call's one-line summary, a reasoning block folded, a file or
patch as a line. Nothing here acts: the buttons are inert until the view takes over.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from nexus.ui.markdown_html import render_markdown

# As many as the view draws first (FIRST_BATCH in js/chat/view.js): a full view, a card.
PREVIEW_MESSAGES = {"full": 12, "card": 6}

STATUS_WORDS = {"idle": "Idle", "busy": "Working", "retry": "Retrying", "waiting": "Needs you", "error": "Error",
                "archived": "Archived"}  # as js/chat/ui.js says them
TOOL_STATES = {"pending": "Pending", "running": "Running", "completed": "Done", "error": "Failed"}


def transcript_preview(snapshot: dict[str, Any], mode: str = "full") -> dict[str, Any]:
    """From a snapshot event's data (Transcript.snapshot): the header's words and the newest
    messages, for the full view (`/s/<id>`) or a card (`/`)."""
    session = snapshot.get("session") or {}
    messages = snapshot.get("messages") or []
    status = (snapshot.get("status") or {}).get("status") or session.get("status") or "idle"
    latest: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "assistant" and m.get("model")), {})
    last_user = next((m["id"] for m in reversed(messages) if m.get("role") == "user"), None)
    return {
        "mode": mode,
        "id": session.get("id") or "",
        "title": session.get("title") or "Untitled session",
        "status": status,
        "status_word": STATUS_WORDS.get(status, status),
        "agent": session.get("agent") or latest.get("agent") or "default agent",
        "model": session.get("model") or latest.get("model") or "default model",
        "archived": session.get("state") == "archived",
        "rewinds": (session.get("engine") or "opencode") == "opencode",
        # The composer's context meter shows once a reply has counted tokens (js/chat/composer/meter.js).
        "context_used": any(m.get("role") == "assistant" and any((m.get("tokens") or {}).values()) for m in messages),
        "messages": [_message(m, m["id"] == last_user) for m in messages[-PREVIEW_MESSAGES[mode]:]],
    }


def _message(message: dict[str, Any], editable: bool) -> dict[str, Any]:
    role = message.get("role") or "assistant"
    error = message.get("error") or None
    return {
        "id": message["id"],
        "role": role,
        "done": bool(message.get("completed_at")),
        "editable": editable,
        "parts": [_part(p, role) for p in message.get("parts") or []],
        "error": _error(error) if error else None,
    }


def _part(part: dict[str, Any], role: str) -> dict[str, Any]:
    kind = part.get("kind") or "text"
    shown: dict[str, Any] = {"kind": kind, "id": part.get("id", "")}
    if kind == "tool":
        status = part.get("status") or "pending"
        shown.update(tool=part.get("tool") or "tool", subject=_subject(part), status=status,
                     state=TOOL_STATES.get(status, status))
    elif kind == "reasoning":
        text = part.get("text") or ""
        shown.update(text=text, preview=(text.strip().split("\n")[0])[:120])
    elif kind == "file":
        shown.update(filename=part.get("filename") or "file", mime=part.get("mime") or "")
    elif kind == "patch":
        shown.update(files=[str(f) for f in part.get("files") or []])
    elif kind == "compaction":
        shown.update(auto=bool(part.get("auto")))
    elif kind == "diff":
        files = part.get("files") or []
        shown.update(count=len(files), added=sum(_number(f.get("additions")) for f in files),
                     removed=sum(_number(f.get("deletions")) for f in files))
    else:
        text = part.get("text") or ""
        shown.update(kind="text", synthetic=bool(part.get("synthetic")), data_kind=kind,
                     user=role == "user", text=text,
                     html=None if role == "user" else Markup(render_markdown(text)))  # sanitized by nh3
    return shown


def _subject(part: dict[str, Any]) -> str:
    """What a tool acts on, as js/chat/render/tool.js says it."""
    given = part.get("input")
    tool_input = given if isinstance(given, dict) else {}
    for value in (part.get("title"), *(tool_input.get(k) for k in ("command", "filePath", "path", "pattern", "url",
                                                                    "description"))):
        if value:
            return str(value)
    return ""


def _error(error: dict[str, Any]) -> dict[str, str]:
    name = error.get("name") or ""
    css = {"aborted": "msg-stopped", "interrupted": "msg-interrupted"}.get(name, "msg-error")
    fallback = "Stopped." if name == "aborted" else "Something went wrong."
    return {"class": css, "message": str(error.get("message") or fallback)}


def _number(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
