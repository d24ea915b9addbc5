"""The notification center from real bus events, its bounded store, its REST and its live topic."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import httpx2
import pytest

from nexus import websocket_client
from tests.auth_helpers import login, make_owner
from tests.wait_helpers import wait_until

DATABASES = ("sqlite", "postgres")  # the repositories behind these tests run on both stores


def _wait_for(condition, timeout: float = 5.0):
    return wait_until(condition, timeout, "the notification center")


SENTINEL = "s_sentinel"


def _handled_so_far(bus, center) -> None:
    """Returns once the center has handled every event published before: it handles them in
    order on one thread, so a sentinel event published now is handled after them. Its
    notification is left out by `_titles` and `_items`."""
    bus.publish("chat.session", session_id=SENTINEL, type="permission.asked", seq=1, status="waiting")
    _wait_for(lambda: any(n["link"] == f"/s/{SENTINEL}" for n in center.repo.recent(100)))


def _items(center) -> list[dict]:
    return [n for n in center.repo.recent(100) if n["link"] != f"/s/{SENTINEL}"]


@pytest.fixture
def center(runtime):
    runtime.notifications.start()
    yield runtime.notifications
    runtime.notifications.stop()


def _titles(center) -> list[str]:
    return [n["title"] for n in reversed(_items(center))]


def _server(bus, state: str, previous: str, reason: str = "") -> None:
    bus.publish("server.state", state=state, previous=previous, reason=reason, status={"state": state})


def test_a_crash_loop_gives_one_crash_then_one_recovery(runtime, center) -> None:
    bus = runtime.bus
    _server(bus, "crashed", "running", "exited with code -9")
    _server(bus, "backing-off", "crashed", "exited with code -9")
    _server(bus, "starting", "backing-off")
    _server(bus, "crashed", "starting", "start failed")  # a failed attempt: same incident
    _server(bus, "backing-off", "crashed")
    _server(bus, "starting", "backing-off")
    _server(bus, "running", "starting", "ready")
    _handled_so_far(bus, center)
    assert _titles(center) == ["OpenCode crashed", "OpenCode is running again"]
    crash = center.repo.recent(10)[-1]
    assert crash["kind"] == "server_crash" and crash["level"] == "error" and "code -9" in crash["body"]
    assert crash["link"] == "/dashboard" and crash["read"] is False


def test_health_failures_and_giving_up(runtime, center) -> None:
    _server(runtime.bus, "unhealthy", "running", "timeout")
    _server(runtime.bus, "backing-off", "unhealthy", "3 health checks failed")
    _server(runtime.bus, "gave-up", "backing-off", "gave up after 5 attempts: boom")
    _wait_for(lambda: center.repo.count() == 2)
    assert _titles(center) == ["OpenCode stopped answering", "Nexus gave up restarting OpenCode"]
    assert "Start it from the dashboard" in center.repo.recent(1)[0]["body"]


def test_a_manual_stop_and_start_notify_nothing(runtime, center) -> None:
    for state, previous in (("stopping", "running"), ("stopped", "stopping"), ("starting", "stopped"),
                            ("running", "starting")):
        _server(runtime.bus, state, previous)
    _handled_so_far(runtime.bus, center)
    assert _titles(center) == []


def test_tunnel_up_and_down(runtime, center) -> None:
    bus = runtime.bus
    bus.publish("tunnel.state", state="starting", reason="", url=None)
    bus.publish("tunnel.state", state="connected", reason="", url="https://a-b-c.trycloudflare.com")
    bus.publish("tunnel.state", state="error", reason="cloudflared exited (code 1)", url=None)
    bus.publish("tunnel.state", state="connected", reason="", url="https://a-b-c.trycloudflare.com")
    bus.publish("tunnel.state", state="off", reason="", url=None)
    _wait_for(lambda: center.repo.count() == 4)
    assert _titles(center) == ["Tunnel connected", "Tunnel disconnected", "Tunnel connected", "Tunnel stopped"]
    newest_first = center.repo.recent(10)
    assert newest_first[2]["body"] == "cloudflared exited (code 1)"
    assert newest_first[3]["body"] == "https://a-b-c.trycloudflare.com"


def test_a_permission_request_is_announced_once_with_the_session_title(runtime, center) -> None:
    session_id = "s_perm"
    runtime.chat.repo.create_session({"id": session_id, "engine": "opencode", "engine_ref": "ses_perm",
                                      "title": "Refactor the parser"})
    bus = runtime.bus
    asked = dict(session_id=session_id, type="permission.asked", seq=1, status="waiting")
    bus.publish("chat.session", **asked)
    bus.publish("chat.session", **{**asked, "seq": 2})  # re-seen after a reconnect
    bus.publish("chat.session", session_id=session_id, type="session.status", seq=3, status="busy")
    bus.publish("chat.session", **{**asked, "seq": 4})  # a new request after the answer
    _handled_so_far(bus, center)
    items = _items(center)
    assert len(items) == 2
    assert items[0]["kind"] == "permission" and items[0]["link"] == f"/s/{session_id}"
    assert "Refactor the parser" in items[0]["body"]


def test_a_question_is_announced_once_like_a_permission(runtime, center) -> None:
    session_id = "s_question"
    runtime.chat.repo.create_session({"id": session_id, "engine": "opencode", "engine_ref": "ses_q",
                                      "title": "Pick a database"})
    asked = dict(session_id=session_id, type="question.asked", seq=1, status="waiting")
    runtime.bus.publish("chat.session", **asked)
    runtime.bus.publish("chat.session", **{**asked, "seq": 2})  # re-seen after a reconnect
    _wait_for(lambda: center.repo.count() == 1)
    runtime.bus.publish("chat.session", session_id=session_id, type="session.status", seq=3, status="busy")
    runtime.bus.publish("chat.session", **{**asked, "seq": 4})  # the next question
    _wait_for(lambda: center.repo.count() == 2)
    item = center.repo.recent(10)[0]
    assert item["title"] == "A session has a question for you" and item["link"] == f"/s/{session_id}"
    assert "Pick a database" in item["body"]


def test_a_kind_switched_off_is_not_recorded(runtime, center) -> None:
    runtime.settings.update({"notifications.server_crash": False})
    _server(runtime.bus, "crashed", "running", "exited with code 1")
    _server(runtime.bus, "running", "starting", "ready")
    _wait_for(lambda: center.repo.count() == 1)
    assert _titles(center) == ["OpenCode is running again"]
    assert center.list()["preferences"]["server_crash"] is False


def test_the_store_keeps_only_the_newest(runtime) -> None:
    runtime.settings.update({"notifications.keep": 10})
    for i in range(15):
        runtime.notifications.notify("tunnel_up", f"n{i}")
    items = runtime.notifications.repo.recent(100)
    assert [n["title"] for n in items] == [f"n{i}" for i in range(14, 4, -1)]


def test_unknown_kind_is_refused(runtime) -> None:
    with pytest.raises(ValueError):
        runtime.notifications.notify("nonsense", "x")


def test_stop_ends_the_thread(runtime) -> None:
    runtime.notifications.start()
    assert any(t.name == "nexus-notifications" for t in threading.enumerate())
    runtime.notifications.stop()
    assert not any(t.name == "nexus-notifications" for t in threading.enumerate())
    assert runtime.bus.subscriber_count == 0


# ----- REST ---------------------------------------------------------------------------------

def test_rest_list_mark_read_and_clear(runtime, client) -> None:
    center = runtime.notifications
    ids = [center.notify("tunnel_up", f"t{i}")["id"] for i in range(3)]
    res = client.get("/api/notifications")
    assert res.status_code == 200
    assert [n["title"] for n in res.json["notifications"]] == ["t2", "t1", "t0"]
    assert res.json["unread"] == 3 and res.json["preferences"]["tunnel_up"] is True

    res = client.post("/api/notifications/read", json={"ids": [ids[0]]})
    assert res.status_code == 200 and res.json == {"changed": 1, "unread": 2}
    unread = client.get("/api/notifications?unread=1").json["notifications"]
    assert [n["id"] for n in unread] == [ids[2], ids[1]]
    assert client.get(f"/api/notifications?before={ids[2]}&limit=1").json["notifications"][0]["id"] == ids[1]

    assert client.post("/api/notifications/read").json == {"changed": 2, "unread": 0}
    res = client.delete("/api/notifications")
    assert res.status_code == 200 and res.json["removed"] == 3
    assert client.get("/api/notifications").json["notifications"] == []


def test_rest_refuses_bad_input_and_changes_nothing(runtime, client) -> None:
    runtime.notifications.notify("tunnel_up", "kept")
    for body in ({"ids": "all"}, {"ids": [1, "2"]}, {"ids": [True]}):
        res = client.post("/api/notifications/read", json=body)
        assert res.status_code == 400 and res.json["error"]["code"] == "bad_request"
    assert client.get("/api/notifications?unread=maybe").status_code == 400
    assert client.get("/api/notifications?limit=0").status_code == 400
    assert client.post("/api/notifications/read", data="ids", content_type="text/plain").status_code == 415
    assert runtime.notifications.repo.unread_count() == 1


def test_changes_need_the_csrf_token(runtime, app) -> None:
    runtime.notifications.notify("tunnel_up", "kept")
    browser = app.test_client()
    browser.set_cookie("nexus_csrf_80", "another-anonymous-cookie")  # the test client's port
    headers = {"Origin": "http://localhost"}
    for res in (browser.post("/api/notifications/read", json={}, headers=headers),
                browser.delete("/api/notifications", headers=headers)):
        assert res.status_code == 403 and res.json["error"]["code"] == "csrf_failed"
    assert runtime.notifications.repo.unread_count() == 1


def test_through_the_tunnel_sign_in_is_required(runtime, app) -> None:
    make_owner(runtime)
    runtime.notifications.notify("tunnel_up", "remote")
    remote = app.test_client()
    tunnel = {"Cf-Connecting-Ip": "203.0.113.7"}
    assert remote.get("/api/notifications", headers=tunnel).status_code == 401
    csrf = login(remote, **tunnel)
    assert remote.get("/api/notifications", headers=tunnel).json["unread"] == 1
    res = remote.post("/api/notifications/read", json={}, headers={**tunnel, "X-CSRF-Token": csrf})
    assert res.status_code == 200 and res.json["unread"] == 0


# ----- the live topic -------------------------------------------------------------------------

def test_new_notifications_reach_a_narrowed_stream(live_stream, runtime) -> None:
    url = live_stream.url.replace("http://", "ws://") + "/api/stream?topics=notifications.,settings.changed"
    ws = websocket_client.connect(url)
    try:
        hello = json.loads(ws.receive(timeout=5))
        assert hello["type"] == "hello" and hello["data"]["unread"] == 0 and "metrics" not in hello["data"]
        runtime.bus.publish("tunnel.state", state="connected", reason="", url="https://x.trycloudflare.com")
        deadline = time.monotonic() + 5
        message = None
        while time.monotonic() < deadline:
            message = json.loads(ws.receive(timeout=5))
            assert message["type"] != "server.metrics", "the narrowed stream carries no metrics"
            if message["type"] == "notifications.new":
                break
        assert message["data"]["notification"]["title"] == "Tunnel connected"
        assert message["data"]["unread"] == 1
    finally:
        ws.close()


def test_an_unknown_topic_is_a_clear_error(live_stream) -> None:
    res = httpx2.get(f"{live_stream.url}/api/stream/sse?topics=server.,secrets.", timeout=5)
    assert res.status_code == 400
    assert "secrets." in res.json()["error"]["message"]


# ----- from the real OpenCode -------------------------------------------------------------------

@pytest.mark.opencode
def test_real_permission_request_and_real_crash(chat_runtime) -> None:
    from tests.chat_helpers import collect
    from tests.test_chat_engine import open_session

    rt = chat_runtime
    center = rt.notifications
    session, client = open_session(rt, title="Tidy the build")
    rt.chat.prompt(session["id"], text="TOOL:echo notify-me")
    permission = collect(client, lambda e: e.type == "permission.asked")[-1].data["permission"]
    item = _wait_for(lambda: center.repo.recent(1), timeout=10)[0]
    assert item["kind"] == "permission" and item["link"] == f"/s/{session['id']}"
    assert "Tidy the build" in item["body"]
    rt.chat.reply_permission(session["id"], permission["id"], "reject", "not now")

    pid = rt.supervisor.pid
    os.kill(pid, signal.SIGKILL)  # the PID the supervisor started, never by name
    _wait_for(lambda: center.repo.count() == 3, timeout=60)
    crash, back = center.repo.recent(2)[::-1]
    assert crash["title"] == "OpenCode crashed" and "code -9" in crash["body"]
    assert back["title"] == "OpenCode is running again"
    assert rt.supervisor.pid not in (None, pid)


def test_ids_beyond_what_the_store_holds_are_a_clear_400(client) -> None:
    # Found by the schemathesis run: an id past 64 bits reached SQLite and answered 500.
    res = client.post("/api/notifications/read", json={"ids": [1, 2**70]})
    assert res.status_code == 400 and res.json["error"]["details"]["field"] == "ids"
