"""Every route, through the tunnel: a real Nexus behind the fake cloudflared, which forwards
HTTP and WebSockets adding Cloudflare's headers, exactly as the real one would.

- without a session: every API route answers 401 and every page redirects to /login
  (except what it takes to sign in: the session probe and the sign-in page itself);
- signed in but without the CSRF token: every state change answers 403;
- a WebSocket from a foreign Origin is refused, one from the tunnel's own origin works.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx2
import pytest
import simple_websocket

from nexus import websocket_client
from nexus.ui import create_app
from nexus.ui.http_server import WebServer
from tests.auth_helpers import OWNER, PASSWORD, make_owner
from tests.fakes.fake_cloudflared import make_fake_binary

OPEN_WITHOUT_SESSION = {("GET", "/api/auth/session")}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SAMPLE_PARAMS = {"step": "welcome", "key_id": "1"}


@pytest.fixture
def through_tunnel(runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_owner(runtime)
    state_file = tmp_path / "cf-state.json"
    monkeypatch.setenv("FAKE_CF_STATE", str(state_file))
    runtime.settings.update({"tunnel.binary": str(make_fake_binary(tmp_path / "bin")), "tunnel.mode": "quick"})
    app = create_app(runtime)
    server = WebServer(app, "127.0.0.1", 0).start()
    runtime.start(web_url=server.url)  # autostarts the tunnel: setup is done and a mode is chosen
    try:
        assert runtime.tunnel.wait_for({"connected", "error"}, 20) == "connected", runtime.tunnel.status()
        state = json.loads(state_file.read_text())
        yield {"edge": f"http://127.0.0.1:{state['edge_port']}", "host": state["hostname"], "app": app,
               "direct": server.url}
    finally:
        server.stop()
        runtime.stop()


def _fill(path: str) -> str:
    return re.sub(r"{([^}]+)}", lambda m: SAMPLE_PARAMS.get(m.group(1), "x1"), path)


def _operations(doc: dict) -> list[tuple[str, str, bool]]:
    ops = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            ops.append((method.upper(), _fill(path), "WebSocket" in op.get("description", "")))
    return ops


def _pages(app) -> list[str]:
    return sorted({_fill(re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", r.rule)) for r in app.url_map.iter_rules()
                   if not r.rule.startswith(("/api", "/static")) and r.rule != "/healthz"})


def _sign_in(edge: str) -> tuple[str, str]:  # (the Cookie header value, the CSRF token)
    with httpx2.Client(base_url=edge, timeout=10) as http:
        probe = http.get("/api/auth/session")
        anon = re.search(r"(nexus_csrf_\d+=[^;]+)", probe.headers["set-cookie"]).group(1)
        res = http.post("/api/auth/login", json={"username": OWNER, "password": PASSWORD},
                        headers={"X-CSRF-Token": probe.json()["csrf_token"], "Cookie": anon})
        assert res.status_code == 200, res.text
        # "nexus_session_PORT=value": the name carries the port Nexus listens on
        cookie = re.search(r"(nexus_session_\d+=[^;]+)", res.headers["set-cookie"]).group(1)
        assert "Secure" in res.headers["set-cookie"], "the tunnel is HTTPS at the edge"
        return cookie, res.json()["csrf_token"]


def test_every_route_and_page_needs_sign_in_through_the_tunnel(through_tunnel) -> None:
    edge = through_tunnel["edge"]
    with httpx2.Client(base_url=edge, timeout=10, follow_redirects=False) as http:
        doc = through_tunnel["app"].extensions["nexus.openapi"]
        operations = _operations(doc)
        assert len(operations) > 25
        for method, path, _ws in operations:
            res = http.request(method, path, json={} if method in STATE_CHANGING else None)
            if (method, path) in OPEN_WITHOUT_SESSION:
                assert res.status_code == 200 and res.json()["signed_in"] is False
                continue
            if (method, path) == ("GET", "/healthz"):
                assert res.status_code == 200 and res.json() == {"ok": True}, "liveness, and nothing more"
                continue
            if method in STATE_CHANGING:
                # 401 for sign-in, or 403 where the route is open (sign-in itself) but the CSRF token is missing.
                assert res.status_code in (401, 403), (method, path, res.status_code)
            else:
                assert res.status_code == 401, (method, path, res.status_code, res.text[:200])
        for page in _pages(through_tunnel["app"]):
            res = http.get(page, headers={"Accept": "text/html"})
            if page == "/login":
                assert res.status_code == 200
            elif page == "/auth/desktop":
                assert res.status_code in (303, 403)
            elif page in ("/manifest.webmanifest", "/sw.js", "/offline"):
                # The installable app's parts are open (browsers fetch them without cookies) and hold no data.
                assert res.status_code == 200, page
                assert "nexus_session" not in res.text and "csrf" not in res.text.lower(), page
            else:
                assert res.status_code == 303 and res.headers["location"].startswith("/login?next="), page


def test_signed_in_but_without_csrf_every_state_change_is_refused(through_tunnel) -> None:
    cookie, csrf = _sign_in(through_tunnel["edge"])
    with httpx2.Client(base_url=through_tunnel["edge"], timeout=10, follow_redirects=False) as http:
        session = {"Cookie": cookie}
        assert http.get("/api/server", headers=session).status_code == 200, "the session works"
        for method, path, _ws in _operations(through_tunnel["app"].extensions["nexus.openapi"]):
            if method not in STATE_CHANGING:
                continue
            res = http.request(method, path, json={}, headers=session)
            assert res.status_code == 403, (method, path, res.status_code)
            assert res.json()["error"]["code"] in ("csrf_failed", "bad_origin"), (method, path)
        ok = http.patch("/api/settings", json={"restart.max_attempts": 4}, headers={**session, "X-CSRF-Token": csrf})
        assert ok.status_code == 200


def test_websockets_through_the_tunnel_check_origin_and_session(through_tunnel) -> None:
    cookie, _ = _sign_in(through_tunnel["edge"])
    ws_url = through_tunnel["edge"].replace("http://", "ws://") + "/api/stream"
    own_origin = f"https://{through_tunnel['host']}"
    with pytest.raises(simple_websocket.ConnectionError):
        websocket_client.connect(ws_url, headers={"Origin": "https://evil.example",
                                                         "Cookie": cookie})
    with pytest.raises(simple_websocket.ConnectionError):
        websocket_client.connect(ws_url, headers={"Origin": own_origin})  # no session
    ws = websocket_client.connect(ws_url, headers={"Origin": own_origin, "Cookie": cookie})
    try:
        assert json.loads(ws.receive(timeout=5))["type"] == "hello"
    finally:
        ws.close()


def test_dns_rebinding_and_unknown_hosts_are_refused(through_tunnel) -> None:
    res = httpx2.get(f"{through_tunnel['direct']}/api/server", headers={"Host": "attacker.test"}, timeout=5)
    assert res.status_code == 421
    # The tunnel's own name is accepted (and still needs sign-in).
    res = httpx2.get(f"{through_tunnel['direct']}/api/server", headers={"Host": through_tunnel["host"]}, timeout=5)
    assert res.status_code == 401
