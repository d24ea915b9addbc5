"""An interrupted reply is drawn as interrupted, with its reason, and its tool as failed —
never as finished text. Desktop and phone, light and dark (screenshots saved)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from .conftest import SCREENSHOTS, LiveNexus

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}


def _seed(rt: Any) -> str:
    sid = "s_interrupted0000000001"
    rt.chat.repo.create_session({"id": sid, "engine": "opencode", "engine_ref": "ses_gone", "title": "Cut off",
                                 "state": "active", "status": "idle"})
    reason = "Interrupted: OpenCode crashed (exited with code -9); OpenCode was restarted."
    rt.chat.repo.save({"id": sid, "title": "Cut off"}, 3, [
        {"id": "msg_u", "session_id": sid, "role": "user", "created_at": 1000.0, "completed_at": 1000.0},
        {"id": "msg_a", "session_id": sid, "role": "assistant", "created_at": 1001.0, "completed_at": 1010.0,
         "finish": "interrupted", "error": {"name": "interrupted", "message": reason}}], [
        (0, {"id": "prt_u", "message_id": "msg_u", "session_id": sid, "kind": "text", "text": "Run the tests",
             "index": True}),
        (0, {"id": "prt_a", "message_id": "msg_a", "session_id": sid, "kind": "text",
             "text": "I will run the test suite now and", "index": True}),
        (1, {"id": "prt_t", "message_id": "msg_a", "session_id": sid, "kind": "tool", "tool": "bash",
             "call_id": "c1", "status": "error", "input": {"command": "pytest -q"},
             "error": reason, "title": "pytest -q", "metadata": {}, "index": False})])
    return sid


def test_an_interrupted_reply_says_so(live_nexus: LiveNexus, new_page: Any) -> None:
    sid = _seed(live_nexus.runtime)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, options in (("desktop", DESKTOP), ("phone", PHONE)):
        for scheme in ("light", "dark"):
            page = new_page(live_nexus.url, color_scheme=scheme, **options)
            page.goto(f"/s/{sid}")
            reply = page.locator('.msg[data-role="assistant"]').last
            note = reply.locator(".msg-interrupted")
            expect(note).to_be_visible(timeout=15_000)
            expect(note).to_have_text("Interrupted: OpenCode crashed (exited with code -9); OpenCode was restarted.")
            expect(reply.locator(".msg-error")).to_have_count(0)
            expect(reply).to_contain_text("Failed")  # the tool it was running
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= options["viewport"]["width"], "no horizontal scroll"
            page.screenshot(path=SCREENSHOTS / f"interrupted-{name}-{scheme}.png")
