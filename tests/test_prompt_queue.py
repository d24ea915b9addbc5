"""Messages sent while the agent works are queued, shown, editable, cancellable, and sent in
order when the session goes idle; two quick sends never both become prompts. Real OpenCode
and the fake model provider; real SQLite."""

from __future__ import annotations

import threading

import httpx2
import pytest

from nexus.runtime import Runtime
from tests.chat_helpers import collect, ended, status_is, wait_for_opencode

pytestmark = pytest.mark.opencode


@pytest.fixture
def live_queue(opencode_settings: dict, no_leftover_processes, make_runtime, serve_runtime):
    rt = make_runtime(opencode_settings, **{"server.autostart": True})
    server = serve_runtime(rt)
    rt.start()
    wait_for_opencode(rt)
    with httpx2.Client(base_url=server.url, timeout=20, trust_env=False) as http:
        yield rt, http


def user_texts(rt: Runtime, sid: str) -> list[str]:
    return [p["text"] for m in rt.chat.messages(sid)["messages"] if m["role"] == "user"
            for p in m["parts"] if p["kind"] == "text"]


def test_two_sends_at_once_become_one_prompt_and_one_queued_in_order(live_queue) -> None:
    rt, http = live_queue
    session = rt.chat.create(title="race")
    sid = session["id"]
    client = rt.chat.hub.client()
    rt.chat.follow(client, sid, None, None)
    outcomes: dict[str, dict] = {}
    gate = threading.Barrier(2)

    def send(text: str) -> None:
        gate.wait()
        outcomes[text] = http.post(f"/api/sessions/{sid}/prompt", json={"text": text}).json()

    threads = [threading.Thread(target=send, args=(t,), name=f"send-{t}") for t in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(o["queued"] for o in outcomes.values()) == [False, True], outcomes
    first = next(t for t, o in outcomes.items() if not o["queued"])
    second = next(t for t, o in outcomes.items() if o["queued"])
    # The queued one goes when the first reply is over, never as a second parallel prompt.
    events = collect(client, lambda e: e.type == "queue.updated" and not e.data["queue"], timeout=60)
    ends = [e for e in events if e.type == "message.end" and e.data.get("finish") == "stop"]
    assert ends, "the first reply ended before the queued message was sent"
    collect(client, ended())
    collect(client, status_is("idle"))
    assert user_texts(rt, sid) == [first, second]

    # Quick sends one after another while busy: queued behind each other, in order.
    rt.chat.prompt(sid, text="SLOW")
    assert rt.chat.prompt(sid, text="third")["queued"] is True
    assert rt.chat.prompt(sid, text="fourth")["queued"] is True
    snapshot = rt.chat.initial_snapshot(sid)["event"]["data"]
    assert [q["text"] for q in snapshot["queue"]] == ["third", "fourth"]
    rt.chat.abort(sid)
    collect(client, lambda e: e.type == "queue.updated" and not e.data["queue"], timeout=60)
    collect(client, lambda e: e.type == "message.end" and e.data.get("finish") == "stop")
    collect(client, status_is("idle"), timeout=60)
    texts = user_texts(rt, sid)
    assert texts[-3:] == ["SLOW", "third", "fourth"]


def test_a_queued_message_can_be_edited_or_cancelled_and_bad_ids_change_nothing(live_queue) -> None:
    rt, http = live_queue
    sid = rt.chat.create(title="queue edits")["id"]
    client = rt.chat.hub.client()
    rt.chat.follow(client, sid, None, None)
    assert http.post(f"/api/sessions/{sid}/prompt", json={"text": "SLOW"}).json()["queued"] is False
    keep = http.post(f"/api/sessions/{sid}/prompt", json={"text": "draft"}).json()
    drop = http.post(f"/api/sessions/{sid}/prompt", json={"text": "never"}).json()
    assert keep["queued"] and drop["queued"]
    assert http.patch(f"/api/sessions/{sid}/queue/{keep['id']}", json={"text": "edited"}).status_code == 200
    assert http.delete(f"/api/sessions/{sid}/queue/{drop['id']}").status_code == 204
    for response in (http.delete(f"/api/sessions/{sid}/queue/{drop['id']}"),
                     http.patch(f"/api/sessions/{sid}/queue/q_nope", json={"text": "x"})):
        assert response.status_code == 409 and response.json()["error"]["code"] == "not_queued"
    bad = http.patch(f"/api/sessions/{sid}/queue/{keep['id']}", json={"text": "  "})
    assert bad.status_code == 400
    assert [q["text"] for q in rt.chat.get_queue(sid)] == ["edited"], "the bad edits changed nothing"
    # Archiving stops the reply; the queued message waits for the session to be reopened.
    rt.chat.archive(sid)
    collect(client, status_is("idle"), timeout=60)
    assert rt.chat.queue.send_next(sid) is False, "an archived session sends nothing"
    assert [q["text"] for q in rt.chat.get_queue(sid)] == ["edited"]
    rt.chat.unarchive(sid)
    collect(client, lambda e: e.type == "queue.updated" and not e.data["queue"], timeout=60)
    collect(client, ended())
    collect(client, status_is("idle"), timeout=60)
    assert user_texts(rt, sid) == ["SLOW", "edited"]
