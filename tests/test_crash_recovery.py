"""Nexus killed with -9 in the middle of a reply: the next start adopts the OpenCode it left
running (same port, same password from the secret store) and the reply goes on to its end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import psutil
import pytest
import simple_websocket

from nexus import websocket_client
from tests.auth_helpers import cookie_header, open_with_setup_token, served_address
from tests.runtime_helpers import open_runtime
from tests.wait_helpers import wait_until

pytestmark = [pytest.mark.opencode, pytest.mark.slow]


def _nexus(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "nexus", *args]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "NEXUS_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def _serve(home: Path) -> tuple[subprocess.Popen[str], str]:  # (process, its "running at" line)
    proc = subprocess.Popen(_nexus(home, "serve", "--port", "0"), env=_env(home), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "running at" in line:
            return proc, line
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("nexus did not start")


def _wait_running(http: httpx2.Client) -> dict:
    return wait_until(lambda: (status := http.get("/api/server").json())["state"] == "running" and status, 45,
                      "OpenCode to come up")


def test_kill_9_of_nexus_mid_reply(tmp_path: Path, opencode_settings: dict) -> None:
    home = tmp_path / "home"
    # The test process starts Nexus the way the user does, after a setup without an owner (so
    # `nexus serve` prints its setup token).
    open_runtime(home, opencode_settings, owner=False, setup_done=True).stop()

    first, line = _serve(home)
    url, token = served_address(line)
    second = None
    try:
        http = open_with_setup_token(httpx2.Client(base_url=url, timeout=10, trust_env=False), token)
        orphan_pid = _wait_running(http)["pid"]
        # Nexus (a child process here) shows no sign of its engine following OpenCode's event
        # stream; a prompt sent before would lose its first events. A margin, not a sentinel:
        # if it is too short, the reply's words below never come and the test fails, not passes.
        time.sleep(1.0)
        sid = http.post("/api/sessions", json={"title": "crash"}).json()["id"]
        ws = websocket_client.connect(url.replace("http://", "ws://") + "/api/chat/stream",
                                             headers=cookie_header(http))
        json.loads(ws.receive(timeout=5))
        ws.send(json.dumps({"op": "follow", "session": sid}))
        http.post(f"/api/sessions/{sid}/prompt", json={"text": "SLOW"})
        seen = ""
        deadline = time.monotonic() + 30
        while "word20 " not in seen and time.monotonic() < deadline:
            raw = ws.receive(timeout=1)
            if raw:
                data = json.loads(raw)
                for message in data if isinstance(data, list) else [data]:
                    if message["type"] == "text.delta":
                        seen += message["data"]["delta"]
        assert "word20 " in seen
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        try:
            ws.close()
        except simple_websocket.ConnectionClosed:
            pass  # the server side is gone
        assert psutil.pid_exists(orphan_pid), "OpenCode outlives a hard-killed Nexus (its own process group)"

        second, line = _serve(home)
        url, token = served_address(line)
        http = open_with_setup_token(httpx2.Client(base_url=url, timeout=10, trust_env=False), token)
        status = _wait_running(http)
        assert status["pid"] == orphan_pid, "the next start adopted the OpenCode the killed Nexus left running"

        # ...and the reply it was streaming goes on to its real end: nothing lost, nothing cut.
        messages = wait_until(lambda: (got := http.get(f"/api/sessions/{sid}/messages").json()["messages"])[-1]["role"]
                              == "assistant" and got[-1]["completed_at"] and got, 60, "the reply to end")
        reply = messages[-1]
        assert reply["finish"] != "interrupted" and not reply["error"], reply
        text = "".join(p.get("text", "") for p in reply["parts"] if p["kind"] == "text")
        assert text.startswith(seen[: len(seen) - 200]) and "word199" in text, text[-200:]
        assert [m["role"] for m in messages][:1] == ["user"]
        wait_until(lambda: http.get(f"/api/sessions/{sid}").json()["status"] == "idle", 20, "the session idle")
        assert http.post(f"/api/sessions/{sid}/prompt", json={"text": "still there?"}).status_code == 202
        second.send_signal(signal.SIGTERM)
        assert second.wait(60) == 0
        assert not psutil.pid_exists(orphan_pid) or psutil.Process(orphan_pid).status() == psutil.STATUS_ZOMBIE, \
            "a clean stop stops the adopted OpenCode too"
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        record = home / "opencode.pid"
        if record.exists():  # never leave an OpenCode behind, whatever failed above
            from nexus.server.child_record import ChildRecord

            ChildRecord(record).reap()


def test_kill_9_of_nexus_and_its_opencode_closes_the_reply_at_the_next_start(tmp_path: Path,
                                                                            opencode_settings: dict) -> None:
    """The OpenCode a killed Nexus left is gone too (no adoption possible): the next start
    closes the cut-off reply as interrupted, with the reason, and keeps its text."""
    home = tmp_path / "home"
    open_runtime(home, opencode_settings, owner=False, setup_done=True).stop()
    first, line = _serve(home)
    second = None
    try:
        url, token = served_address(line)
        http = httpx2.Client(base_url=url, timeout=10, trust_env=False)
        if token:  # no owner yet: the first run's address carries the setup token
            open_with_setup_token(http, token)
        opencode = _wait_running(http)["pid"]
        sid = None
        deadline = time.monotonic() + 30
        while sid is None:  # until the engine follows OpenCode's events
            answer = http.post("/api/sessions", json={"title": "cut"})
            sid = answer.json()["id"] if answer.status_code == 201 else None
            assert time.monotonic() < deadline, answer.text
        assert http.post(f"/api/sessions/{sid}/prompt", json={"text": "SLOW"}).status_code == 202

        def some_words_saved() -> bool:
            last = (http.get(f"/api/sessions/{sid}/messages").json()["messages"] or [{"role": None}])[-1]
            return last["role"] == "assistant" and "word3 " in "".join(p.get("text", "") for p in last["parts"])

        wait_until(some_words_saved, 30, "some streamed words saved")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        os.killpg(opencode, signal.SIGKILL)  # OpenCode dies too (power loss, OOM killer)

        second, line = _serve(home)
        url, token = served_address(line)
        http = httpx2.Client(base_url=url, timeout=10, trust_env=False)
        if token:
            open_with_setup_token(http, token)
        assert _wait_running(http)["pid"] != opencode
        reply = wait_until(lambda: (last := http.get(f"/api/sessions/{sid}/messages").json()["messages"][-1])
                           ["completed_at"] and last, 30, "the cut reply ended")
        assert reply["finish"] == "interrupted", reply
        assert reply["error"]["message"] == "Interrupted: Nexus was restarted before the reply finished."
        assert "word3 " in "".join(p.get("text", "") for p in reply["parts"]), "its text is kept"
        wait_until(lambda: http.get(f"/api/sessions/{sid}").json()["status"] == "idle", 20, "the session idle again")
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        record = home / "opencode.pid"
        if record.exists():
            from nexus.server.child_record import ChildRecord

            ChildRecord(record).reap()
