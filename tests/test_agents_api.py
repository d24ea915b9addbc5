"""Named agents and the Anthropic API key over REST (real app, real store, fake Anthropic)."""

from __future__ import annotations

import pytest

from nexus.chat.engines.anthropic import API_KEY_SECRET
from tests.auth_helpers import remember
from tests.fakes import fake_anthropic as fa

DATABASES = ("sqlite", "postgres")  # the repositories behind these tests run on both stores


@pytest.fixture
def configured_anthropic(runtime, fake_anthropic: fa.FakeAnthropic) -> fa.FakeAnthropic:
    runtime.settings.update({"anthropic.base_url": fake_anthropic.url, "anthropic.max_retries": 0})
    return fake_anthropic


AGENT = {"name": "Reviewer", "engine": "anthropic", "model": "claude-opus-5-5", "system_prompt": "Review code.",
         "tools": ["read", "grep"], "temperature": 0.2, "max_tokens": 4000, "thinking_budget": 0}


def test_create_edit_duplicate_delete(client) -> None:
    created = client.post("/api/agent-configs", json=AGENT)
    assert created.status_code == 201
    agent = created.json
    assert {k: agent[k] for k in AGENT} == AGENT
    edited = client.patch(f"/api/agent-configs/{agent['id']}", json={"thinking_budget": 2048, "temperature": None})
    assert edited.status_code == 200 and edited.json["thinking_budget"] == 2048 and edited.json["name"] == "Reviewer"
    copy = client.post(f"/api/agent-configs/{agent['id']}/duplicate")
    assert copy.status_code == 201 and copy.json["name"] == "Reviewer (copy)" and copy.json["id"] != agent["id"]
    assert copy.json["system_prompt"] == "Review code."
    listed = client.get("/api/agent-configs").json
    assert [a["name"] for a in listed["agents"]] == ["Reviewer", "Reviewer (copy)"]
    assert listed["tools"]["anthropic"] == ["list", "read", "grep", "write", "edit", "bash"]
    assert client.delete(f"/api/agent-configs/{agent['id']}").status_code == 204
    assert client.get(f"/api/agent-configs/{agent['id']}").status_code == 404
    assert client.delete(f"/api/agent-configs/{agent['id']}").status_code == 404


def test_bad_agents_are_refused_whole_with_a_message_per_field(client) -> None:
    client.post("/api/agent-configs", json=AGENT)
    res = client.post("/api/agent-configs", json={"name": "Reviewer", "engine": "gpt", "tools": ["rm"],
                                                  "temperature": 3, "max_tokens": 2000, "thinking_budget": 500})
    assert res.status_code == 422
    fields = res.json["error"]["details"]["fields"]
    assert set(fields) == {"name", "engine", "tools", "temperature", "thinking_budget"}
    assert "exists already" in fields["name"]
    res = client.post("/api/agent-configs", json={**AGENT, "name": "B", "thinking_budget": 4096, "max_tokens": 4096})
    assert res.status_code == 422 and "smaller than max tokens" in res.json["error"]["details"]["fields"]["thinking_budget"]
    res = client.post("/api/agent-configs", json={"name": "C", "engine": "opencode", "model": "no-slash"})
    assert res.status_code == 422 and "provider/model" in res.json["error"]["details"]["fields"]["model"]
    assert len(client.get("/api/agent-configs").json["agents"]) == 1
    assert client.post("/api/agent-configs", data="x", content_type="text/plain").status_code == 415


def test_api_key_is_tested_stored_and_never_returned(client, runtime, configured_anthropic) -> None:
    assert client.get("/api/anthropic/key").json["has_key"] is False
    assert client.post("/api/anthropic/key/test").status_code == 404
    wrong = remember("sk-ant-wrong-0123456789abcdef")
    res = client.put("/api/anthropic/key", json={"key": wrong})
    assert res.status_code == 400 and res.json["error"]["code"] == "invalid_key"
    assert runtime.secrets.get(API_KEY_SECRET) is None  # a refused key is not kept
    assert client.put("/api/anthropic/key", json={"key": "short"}).status_code == 422
    key = remember(fa.VALID_KEY)
    res = client.put("/api/anthropic/key", json={"key": key})
    assert res.status_code == 200 and res.json["has_key"] is True and key not in res.get_data(as_text=True)
    assert runtime.secrets.get(API_KEY_SECRET) == key
    assert client.post("/api/anthropic/key/test").json["ok"] is True
    for path in ("/api/anthropic/key", "/api/agent-configs", "/api/settings"):
        assert key not in client.get(path).get_data(as_text=True)
    assert client.delete("/api/anthropic/key").json["has_key"] is False
    assert runtime.secrets.get(API_KEY_SECRET) is None


def test_scripts_with_an_api_key_cannot_manage_the_anthropic_key(client, runtime) -> None:
    token = remember(runtime.auth.create_key("script")[1])
    res = client.put("/api/anthropic/key", json={"key": "sk-ant-whatever-0123456789"},
                     headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 403 and res.json["error"]["code"] == "needs_session"


def test_a_session_started_with_a_named_agent_copies_its_settings(client, runtime, configured_anthropic) -> None:
    runtime.secrets.set(API_KEY_SECRET, remember(fa.VALID_KEY))
    agent = client.post("/api/agent-configs", json=AGENT).json
    session = client.post("/api/sessions", json={"agent_id": agent["id"]})
    assert session.status_code == 201
    body = session.json
    assert body["engine"] == "anthropic" and body["model"] == "claude-opus-5-5" and body["agent"] == "Reviewer"
    assert body["options"]["system"] == "Review code." and body["options"]["tools"] == ["read", "grep"]
    assert client.post("/api/sessions", json={"agent_id": "ag_missing"}).status_code == 404
    models = client.get("/api/anthropic/models").json
    assert models["as_of"] and any(m["id"] == "claude-opus-5-5" for m in models["models"])


def test_agents_page_renders(client) -> None:
    page = client.get("/agents")
    assert page.status_code == 200 and b'id="agent-form"' in page.data and b'href="/agents"' in page.data
