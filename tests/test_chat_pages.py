"""The full session page carries its transcript's snapshot as inert, escaped data."""

import json
import re


def test_session_page_embeds_an_escaped_snapshot(runtime, client) -> None:
    repo = runtime.chat.repo
    repo.create_session({"id": "s_page", "engine": "opencode", "engine_ref": "ses_page", "title": "Page"})
    hostile = "</script><img src=x onerror=alert(1)>"
    repo.save(None, None, [{"id": "m1", "session_id": "s_page", "role": "assistant", "created_at": 1.0}],
              [(0, {"id": "p1", "message_id": "m1", "session_id": "s_page", "kind": "text", "text": hostile})])
    html = client.get("/s/s_page").get_data(as_text=True)
    match = re.search(r'<script type="application/json" id="initial-snapshot">(.*?)</script>', html, re.S)
    assert match, "the snapshot is in the page"
    assert hostile not in html, "model text cannot close the data block or add markup"
    data = json.loads(match.group(1))
    assert data["epoch"] == runtime.chat.hub.epoch
    assert data["event"]["type"] == "snapshot"
    assert data["event"]["data"]["messages"][0]["parts"][0]["text"] == hostile


def test_unknown_session_page_is_a_404_without_a_snapshot(client) -> None:
    res = client.get("/s/s_nope")
    assert res.status_code == 404
    assert "initial-snapshot" not in res.get_data(as_text=True)
