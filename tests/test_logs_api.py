"""The log over HTTP: /api/logs (filters, paging), downloads, the live stream, and the guard."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx2
import pytest
import simple_websocket

from nexus import websocket_client
from nexus.logs.redaction import MASK, forget_secret, register_secret
from nexus.ui import create_app
from nexus.ui.http_server import WebServer
from tests.auth_helpers import login, make_owner, remember


def line(i: int, level: str = "INFO", source: str = "nexus", message: str | None = None) -> str:
    return json.dumps({"ts": 1_700_000_000 + i, "time": "2023-11-14T22:13:20.000Z", "level": level,
                       "source": source, "logger": "nexus.test", "message": message or f"line {i}"}) + "\n"


def append(path: Path, *lines: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.writelines(lines)


def messages(res) -> list[str]:
    return [e["message"] for e in res.json["lines"]]


@pytest.fixture
def log_file(runtime) -> Path:
    """The runtime's log, emptied of its start-up lines so a test knows every line in it."""
    path = runtime.paths.log_file
    path.write_text("")
    return path


def test_last_lines_filters_and_cursor_paging(client, log_file: Path) -> None:
    append(log_file, *[line(i) for i in range(30)], line(30, "ERROR", "opencode", "opencode failed"),
           line(31, "WARNING", "cloudflared", "tunnel retry"), line(32, "ERROR", "nexus", "Disk FULL"))
    res = client.get("/api/logs?limit=5")
    assert res.status_code == 200
    assert messages(res) == ["line 28", "line 29", "opencode failed", "tunnel retry", "Disk FULL"]
    assert all(":" in e["id"] for e in res.json["lines"])
    older = client.get(f"/api/logs?limit=5&cursor={res.json['cursor']}")
    assert messages(older) == [f"line {i}" for i in range(23, 28)]
    assert messages(client.get("/api/logs?level=error")) == ["opencode failed", "Disk FULL"]
    assert messages(client.get("/api/logs?level=ERROR,WARNING&source=cloudflared")) == ["tunnel retry"]
    assert messages(client.get("/api/logs?source=opencode&source=cloudflared")) == ["opencode failed", "tunnel retry"]
    assert messages(client.get("/api/logs?q=disk%20full")) == ["Disk FULL"]
    everything = client.get("/api/logs?limit=1000")
    assert everything.json["cursor"] is None and len(everything.json["lines"]) == 33


@pytest.mark.parametrize("query, parameter", [
    ("level=LOUD", "level"), ("level=INFO,nope", "level"), ("source=syslog", "source"), ("q=" + "x" * 201, "q"),
    ("limit=0", None), ("limit=1001", None), ("limit=ten", None), ("cursor=abc", "cursor"), ("cursor=1:-5", "cursor"),
])
def test_bad_filters_get_a_clear_400(client, log_file: Path, query: str, parameter: str | None) -> None:
    for path in ("/api/logs", "/api/logs/download", "/api/logs/stream/sse"):
        if ("cursor" in query and path != "/api/logs") or ("limit" in query and path != "/api/logs"):
            continue
        res = client.get(f"{path}?{query}")
        assert res.status_code == 400, (path, query)
        error = res.json["error"]
        assert error["code"] == "bad_parameter" and error["message"]
        if parameter in ("level", "source"):
            assert error["details"]["parameter"] == parameter and "use any of" in error["message"]


def test_a_cursor_into_a_deleted_file_is_410(client, log_file: Path) -> None:
    append(log_file, *[line(i) for i in range(10)])
    res = client.get("/api/logs?cursor=999999999:10")
    assert res.status_code == 410 and res.json["error"]["code"] == "rotated_away"


def test_download_all_concatenates_rotated_files_oldest_first(client, log_file: Path) -> None:
    log_file.with_name("nexus.jsonl.2").write_text(line(0) + line(1))
    log_file.with_name("nexus.jsonl.1").write_text(line(2) + "corrupt line\n")
    append(log_file, line(3, "ERROR"), line(4))
    res = client.get("/api/logs/download?scope=all")
    assert res.status_code == 200 and res.is_streamed
    assert res.mimetype == "application/x-ndjson"
    assert res.headers["Content-Disposition"].startswith('attachment; filename="nexus-log-')
    rows = res.get_data(as_text=True).splitlines()
    assert rows[3] == "corrupt line"
    assert [json.loads(r)["message"] for i, r in enumerate(rows) if i != 3] == [f"line {i}" for i in (0, 1, 2, 3, 4)]
    assert json.loads(rows[0]) == json.loads(line(0)), "lines as written (no ids added)"


def test_download_view_is_the_filtered_lines(client, log_file: Path) -> None:
    append(log_file, line(0), line(1, "ERROR", "opencode", "bad thing"), line(2), line(3, "ERROR", "nexus", "bad too"))
    res = client.get("/api/logs/download?scope=view&level=ERROR&q=bad")
    assert 'filename="nexus-log-view-' in res.headers["Content-Disposition"]
    assert [json.loads(r)["message"] for r in res.get_data(as_text=True).splitlines()] == ["bad thing", "bad too"]
    assert client.get("/api/logs/download?scope=mine").status_code == 400


def test_no_secret_in_the_api_or_downloads(runtime, client, log_file: Path) -> None:
    secret = remember("logged-Secret-value-8841")
    register_secret(secret)
    logging.getLogger("nexus.test.secrets").warning("connecting with %s", secret,
                                                    extra={"fields": {"api_key": "abc123456", "note": secret}})
    # A line written before its secret was known (e.g. an API key seen later): cleaned on the way out too.
    late = "late-Secret-value-99120"  # deliberately not in SECRETS: it is in this raw file by design
    append(log_file, line(1, message=f"got {late} from a client"))
    register_secret(late)
    try:
        for path in ("/api/logs", "/api/logs/download?scope=all", "/api/logs/download?scope=view&q=secret"):
            body = client.get(path).get_data(as_text=True)
            assert secret not in body and late not in body and "abc123456" not in body, path
        body = client.get("/api/logs/download?scope=all").get_data(as_text=True)
        assert body.count(MASK) >= 4  # the secret, the field value, the late secret
    finally:
        forget_secret(late)


def test_guard_sign_in_and_methods(runtime, client, log_file: Path) -> None:
    make_owner(runtime)
    for path in ("/api/logs", "/api/logs/download?scope=all", "/api/logs/stream/sse"):
        res = client.get(path)
        assert res.status_code == 401 and res.json["error"]["code"] == "login_required", path
        res = client.get(path, headers={"Cf-Connecting-Ip": "203.0.113.9"})
        assert res.status_code == 401, path
    page = client.get("/logs", headers={"Accept": "text/html"})
    assert page.status_code == 303 and page.headers["Location"].startswith("/login?next=/logs")
    csrf = login(client)
    assert client.get("/api/logs").status_code == 200
    assert client.get("/logs").status_code == 200
    # Reading needs no CSRF token; a change does (the guard refuses it before routing) and these
    # routes take none anyway.
    res = client.post("/api/logs", headers={"X-CSRF-Token": "stale"})
    assert res.status_code == 403 and res.json["error"]["code"] == "csrf_failed"
    res = client.post("/api/logs", headers={"X-CSRF-Token": csrf})
    assert res.status_code == 405 and res.json["error"]["code"] == "method_not_allowed"


@pytest.fixture
def served(runtime):
    server = WebServer(create_app(runtime), "127.0.0.1", 0).start()
    runtime.start(web_url=server.url)
    yield server.url
    server.stop()
    runtime.stop()


def test_live_stream_sends_only_new_matching_lines(served: str, runtime) -> None:
    ws_url = served.replace("http://", "ws://") + "/api/logs/stream?level=ERROR&q=marker"
    with pytest.raises(simple_websocket.ConnectionError):  # WebSockets only from Nexus's own pages
        websocket_client.connect(ws_url, headers={"Origin": "https://evil.example"})
    ws = websocket_client.connect(ws_url)
    try:
        hello = json.loads(ws.receive(timeout=5))
        assert hello["type"] == "hello" and hello["data"]["following"]
        log = logging.getLogger("nexus.test.stream")
        log.error("marker error one")
        log.info("marker info")
        log.error("other error")
        append(runtime.paths.log_file, line(9, "ERROR", "opencode", "marker from opencode"))
        got: list[str] = []
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            raw = ws.receive(timeout=1)
            if raw:
                message = json.loads(raw)
                assert message["type"] == "logs.lines"
                got += [e["message"] for e in message["data"]["lines"]]
        assert got == ["marker error one", "marker from opencode"]
    finally:
        ws.close()


def test_sse_stream_and_a_bad_filter_on_the_websocket(served: str) -> None:
    with httpx2.Client(base_url=served, timeout=5) as http, \
            http.stream("GET", "/api/logs/stream/sse?source=nexus") as res:
        assert res.status_code == 200 and res.headers["content-type"].startswith("text/event-stream")
        for text in res.iter_lines():
            if text.startswith("data: "):
                assert json.loads(text[6:])["type"] == "hello"
                break
    ws = websocket_client.connect(served.replace("http://", "ws://") + "/api/logs/stream?level=LOUD")
    try:  # the reason comes as a message, then the close code 1008 (the client may see only the close)
        message = json.loads(ws.receive(timeout=5))
        assert message["type"] == "error" and "LOUD" in message["data"]["message"]
        with pytest.raises(simple_websocket.ConnectionClosed) as closed:
            ws.receive(timeout=5)
    except simple_websocket.ConnectionClosed as exc:
        assert exc.reason == 1008
    else:
        assert closed.value.reason == 1008
