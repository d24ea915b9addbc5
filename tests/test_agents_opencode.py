"""A named OpenCode agent maps onto OpenCode's prompt fields (agent, model, system, tools):
checked on what the real OpenCode sends to the project's fake model provider."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chat_helpers import collect, ended, status_is, wait_for_opencode

pytestmark = pytest.mark.opencode


def test_named_opencode_agent_sends_its_system_prompt_and_tool_choice(tmp_path: Path, opencode_settings: dict,
                                                                       fake_llm, no_leftover_processes, make_runtime) -> None:
    rt = make_runtime()
    rt.settings.update({**opencode_settings, "server.autostart": True})
    rt.start()
    try:
        wait_for_opencode(rt)
        agent = rt.agents.create({"name": "Reader", "engine": "opencode", "opencode_agent": "build",
                                  "system_prompt": "NAMED-AGENT-MARKER: only read files.", "tools": ["read", "grep"]})
        session = rt.chat.create(agent_id=agent["id"])
        assert session["engine"] == "opencode" and session["agent"] == "build"
        client = rt.chat.hub.client()
        rt.chat.follow(client, session["id"], None, None)
        before = len(fake_llm.requests)
        rt.chat.prompt(session["id"], text="ping")
        collect(client, ended())
        collect(client, status_is("idle"))
        sent = [r for r in fake_llm.requests[before:] if "NAMED-AGENT-MARKER" in json.dumps(r.get("messages"))]
        assert sent, "the agent's system prompt reached the model"
        tools = {t["function"]["name"] for t in sent[-1].get("tools") or []}
        assert "bash" not in tools and "edit" not in tools and "write" not in tools
        assert "read" in tools
    finally:
        rt.stop()
