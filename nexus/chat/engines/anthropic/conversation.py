"""Rebuild the Messages API conversation from a stored Nexus transcript.

The transcript is the only memory: nothing about a conversation lives in the engine, so a
session resumes after a restart exactly as it was. One Nexus assistant message is one API
response; its tool calls become `tool_use` blocks and their results a following user
message of `tool_result` blocks. Thinking is sent back with its signature (the API
rejects unsigned thinking, so a thought cut off by Stop is dropped).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def rebuild(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": list(blocks)})

    for message in messages:
        parts = message.get("parts") or []
        if message.get("role") == "user":
            add("user", [b for p in parts for b in user_blocks(p)])
            continue
        blocks, results = [], []
        for part in parts:
            kind = part.get("kind")
            if kind == "reasoning" and part.get("redacted"):
                blocks.append({"type": "redacted_thinking", "data": part["redacted"]})
            elif kind == "reasoning" and part.get("signature") and part.get("text"):
                blocks.append({"type": "thinking", "thinking": part["text"], "signature": part["signature"]})
            elif kind == "text" and (part.get("text") or "").strip():
                blocks.append({"type": "text", "text": part["text"]})
            elif kind == "tool" and part.get("call_id"):
                blocks.append({"type": "tool_use", "id": part["call_id"], "name": part.get("tool") or "unknown",
                               "input": part.get("input") if isinstance(part.get("input"), dict) else {}})
                results.append(tool_result(part))
        add("assistant", blocks)
        add("user", results)
    while out and out[0]["role"] != "user":  # the API wants the user first
        out.pop(0)
    return out


def tool_result(part: dict[str, Any]) -> dict[str, Any]:
    if part.get("status") == "completed":
        return {"type": "tool_result", "tool_use_id": part["call_id"], "content": str(part.get("output") or "(no output)")}
    reason = part.get("error") or "The tool did not run (the reply was stopped)."
    return {"type": "tool_result", "tool_use_id": part["call_id"], "content": str(reason), "is_error": True}


def user_blocks(part: dict[str, Any]) -> list[dict[str, Any]]:
    kind = part.get("kind")
    if kind == "text" and (part.get("text") or "").strip():
        return [{"type": "text", "text": part["text"]}]
    if kind != "file":
        return []
    mime, data = _data_url(part.get("url") or "")
    name = part.get("filename") or "file"
    if data is None:
        return []
    if mime in IMAGE_TYPES:
        return [{"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}]
    if mime == "application/pdf":
        return [{"type": "document", "source": {"type": "base64", "media_type": mime, "data": data}}]
    try:
        text = base64.b64decode(data).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return [{"type": "text", "text": f"(Attached {name}: {mime}, not readable as text.)"}]
    return [{"type": "text", "text": f"Attached file {name}:\n\n{text}"}]


def _data_url(url: str) -> tuple[str, str | None]:
    if not url.startswith("data:") or ";base64," not in url:
        return "", None
    head, data = url[5:].split(";base64,", 1)
    return head, data
