"""The REST surface: JSON errors everywhere, the OpenAPI document, request guards."""

import re
import time

import pytest

from nexus.ui import MAX_REQUEST_BYTES
from tests.wait_helpers import wait_until


def test_healthz(client) -> None:
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.json["ok"] is True


def test_every_route_is_in_the_openapi_document(app, client) -> None:
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not (rule.rule.startswith("/api") or rule.rule == "/healthz"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served, "the app serves API routes"
    assert served == documented


def test_server_status_without_a_binary_is_a_clear_answer(runtime, client) -> None:
    runtime.settings.update({"server.binary": "/nonexistent/opencode"})
    res = client.get("/api/server")
    assert res.status_code == 200
    assert res.json["state"] == "stopped"
    res = client.post("/api/server/start")
    assert res.status_code == 503
    assert "does not exist" in res.json["error"]["message"]
    assert res.json["error"]["details"]["server"]["state"] == "stopped"


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/api/nope", 404),
    ("DELETE", "/api/server", 405),
    ("GET", "/api/server/metrics?since=yesterday", 400),
    ("GET", "/api/server/restarts?limit=0", 400),
])
def test_errors_are_json(client, method, path, status) -> None:
    res = client.open(path, method=method)
    assert res.status_code == status
    assert res.is_json
    assert res.json["error"]["status"] == status
    assert res.json["error"]["message"]


def test_malformed_and_wrongly_typed_bodies(client) -> None:
    res = client.patch("/api/settings", data="{not json", content_type="application/json")
    assert res.status_code == 400 and res.json["error"]["code"] == "bad_json"
    res = client.patch("/api/settings", data="[1, 2]", content_type="application/json")
    assert res.status_code == 400
    res = client.patch("/api/settings", data="a=b", content_type="application/x-www-form-urlencoded")
    assert res.status_code == 415


def test_oversize_body_is_refused_with_json(client) -> None:
    res = client.patch("/api/settings", data=b"x" * (MAX_REQUEST_BYTES + 1), content_type="application/json")
    assert res.status_code == 413
    assert "larger than" in res.json["error"]["message"]


def test_settings_round_trip(client) -> None:
    res = client.patch("/api/settings", json={"restart.max_attempts": 7, "server.autostart": False})
    assert res.status_code == 200
    assert client.get("/api/settings").json["values"]["restart.max_attempts"] == 7
    res = client.patch("/api/settings", json={"restart.max_attempts": -1})
    assert res.status_code == 422
    assert "restart.max_attempts" in res.json["error"]["details"]["fields"]
    assert client.get("/api/settings").json["values"]["restart.max_attempts"] == 7


@pytest.mark.parametrize("headers, status, code", [
    ({"Cf-Connecting-Ip": "203.0.113.9"}, 401, "login_required"),  # through the tunnel: sign-in first
    ({"X-Forwarded-For": "203.0.113.9"}, 401, "login_required"),
    ({"Host": "nexus.example.com"}, 421, "unknown_host"),  # not the tunnel's name
    ({"Host": "attacker.test:7420"}, 421, "unknown_host"),  # DNS rebinding
])
def test_requests_from_outside_this_computer_are_refused(client, headers, status, code) -> None:
    for path in ("/api/server", "/api/settings", "/api/sessions"):
        res = client.get(path, headers=headers)
        assert res.status_code == status, path
        assert res.json["error"]["code"] == code
    page = client.get("/", headers={**headers, "Accept": "text/html"})
    if status == 401:
        assert page.status_code == 303 and page.headers["Location"].startswith("/login")
        health = client.get("/healthz", headers=headers)
        assert health.status_code == 200 and health.json == {"ok": True}, "liveness only, nothing else"
    else:
        assert page.status_code == status


def test_state_changes_from_another_origin_are_refused(client) -> None:
    res = client.post("/api/server/stop", headers={"Origin": "https://evil.example"})
    assert res.status_code == 403
    res = client.post("/api/server/stop", headers={"Origin": "http://localhost"})
    assert res.status_code == 200


def test_security_headers(client) -> None:
    res = client.get("/")
    assert res.status_code == 200
    csp = res.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in res.get_data(as_text=True), "no inline script"


def test_restart_history_and_metrics_endpoints(runtime, client) -> None:
    from nexus.server.repository import RestartRepository

    repo = RestartRepository(runtime.db)
    ids = [repo.add(reason="crashed", exit_code=-9, attempt=i + 1) for i in range(3)]
    page = client.get("/api/server/restarts?limit=2").json["restarts"]
    assert [r["id"] for r in page] == [ids[2], ids[1]]
    older = client.get(f"/api/server/restarts?before={ids[1]}").json["restarts"]
    assert [r["id"] for r in older] == [ids[0]]
    first = runtime.metrics.sample()
    wait_until(lambda: round(time.time(), 3) > first["at"], 5, "the next millisecond (samples are stamped to it)")
    runtime.metrics.sample()
    samples = client.get("/api/server/metrics").json["samples"]
    assert len(samples) == 2 and samples[0]["state"] == "stopped"
    assert client.get(f"/api/server/metrics?since={samples[0]['at']}").json["samples"] == samples[1:]


def test_static_assets_are_compressed_but_pages_and_api_answers_are_not(client) -> None:
    headers = {"Accept-Encoding": "br, gzip"}
    script = client.get("/static/js/api.js", headers=headers)
    style = client.get("/static/css/app.css", headers=headers)
    assert script.headers.get("Content-Encoding") in ("br", "gzip")
    assert style.headers.get("Content-Encoding") in ("br", "gzip")
    # Pages and API answers carry CSRF tokens and keys: never compressed (BREACH).
    assert "Content-Encoding" not in client.get("/dashboard", headers=headers).headers
    assert "Content-Encoding" not in client.get("/api/openapi.json", headers=headers).headers
