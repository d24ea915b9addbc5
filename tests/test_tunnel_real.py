"""The tunnel against the REAL cloudflared (version 2026.8.2, built from Cloudflare's source,
in `shared/tools/cloudflared/` beside the checkout).

It never reaches Cloudflare from here, so these tests check everything the real program can
show offline: its version, that every command line Nexus builds is accepted (it fails for
the network, never with a usage error), the offline error, backoff and giving up, stopping
at any moment, the named tunnel's token staying out of sight, and its metrics server read
while it runs. To keep it running offline, a wrapper adds two of its hidden flags:
`--quick-service` (a local quick-tunnel API that hands out a hostname) and `--edge` (a
loopback address where no edge answers, so it keeps retrying instead of exiting).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from nexus.doctor import run_checks
from nexus.tunnel import TOKEN_SECRET
from nexus.tunnel.manager import free_port, plain_reason
from tests.conftest import REAL_CLOUDFLARED_VERSION as REAL_VERSION
from tests.conftest import ROOT
from tests.wait_helpers import wait_until

NETWORK_REASON = "could not reach Cloudflare"
# A well-formed named-tunnel token (account tag, tunnel id, secret), as the dashboard hands out.
TOKEN = base64.b64encode(json.dumps({
    "a": "0123456789abcdef0123456789abcdef", "t": "3f1c2d6e-0a4b-4c1d-9e2f-1234567890ab",
    "s": base64.b64encode(b"nexus-test-secret-" * 2).decode()}).encode()).decode()


@pytest.fixture
def rt(runtime, real_cloudflared) -> Iterator:
    runtime.settings.update({"tunnel.binary": str(real_cloudflared), "tunnel.start_timeout": 20.0,
                             "tunnel.restart_max_attempts": 0})
    runtime.tunnel.set_origin(f"http://127.0.0.1:{free_port()}")
    yield runtime
    runtime.tunnel.stop()


def processes_of(binary: Path, marker: str) -> list[psutil.Process]:
    """Processes running `binary` whose command line holds `marker` (this test's origin)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline and marker in " ".join(cmdline) and any(Path(part).name == binary.name for part in cmdline[:3]):
            try:
                if proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except psutil.Error:
                pass
    return found


def wait_for_error(rt, timeout: float = 20.0) -> dict:
    wait_until(lambda: rt.tunnel.status()["state"] == "error", timeout, "the tunnel's error state")
    return rt.tunnel.status()


class QuickTunnelApi:
    """Cloudflare's quick-tunnel API (`POST /tunnel`), locally: hands out a hostname."""

    hostname = "calm-river-nexus-test.trycloudflare.com"

    def __init__(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.dumps({"success": True, "result": {
                    "id": "3f1c2d6e-0a4b-4c1d-9e2f-1234567890ab", "name": "nexus-test", "hostname": api.hostname,
                    "account_tag": "0123456789abcdef", "secret": base64.b64encode(b"s" * 32).decode()}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="test-quick-tunnel-api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"


@pytest.fixture
def quick_api() -> Iterator[QuickTunnelApi]:
    api = QuickTunnelApi()
    api.thread.start()
    yield api
    api.server.shutdown()
    api.thread.join(5)
    api.server.server_close()


def wrapper(folder: Path, real: Path, *extra: str, record: Path | None = None) -> Path:
    """A `cloudflared` that runs the real one with `extra` flags after `tunnel` (and, with
    `record`, writes down the arguments and whether TUNNEL_TOKEN came by environment)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cloudflared"
    note = (f'printf "%s\\n" "$*" > {record}; [ -n "$TUNNEL_TOKEN" ] && echo token-in-env >> {record}\n'
            if record else "")
    flags = " ".join(extra)
    path.write_text(f'#!/bin/sh\n{note}sub="$1"; shift\nexec {real} "$sub" {flags} "$@"\n')
    path.chmod(0o755)
    return path


def test_doctor_and_the_tunnel_panel_report_the_real_version(rt, real_cloudflared) -> None:
    check = next(c for c in run_checks(rt.settings, rt.paths) if c.name == "cloudflared")
    assert check.ok and REAL_VERSION in check.detail and str(real_cloudflared) in check.detail, check
    rt.settings.update({"tunnel.mode": "quick"})
    rt.tunnel.start()
    status = wait_for_error(rt)
    assert status["version"] == REAL_VERSION and status["binary"] == str(real_cloudflared)


@pytest.mark.parametrize("mode,protocol", [("quick", "auto"), ("quick", "http2"), ("quick", "quic"),
                                           ("named", "auto"), ("named", "http2")])
def test_every_command_line_nexus_builds_is_accepted(rt, real_cloudflared, tmp_path, mode, protocol,
                                                     no_leftover_processes) -> None:
    record = tmp_path / "argv.txt"
    if mode == "named":
        rt.secrets.set(TOKEN_SECRET, TOKEN)
        rt.settings.update({"tunnel.hostname": "nexus.example.test"})
    rt.settings.update({"tunnel.mode": mode, "tunnel.protocol": protocol,
                        "tunnel.binary": str(wrapper(tmp_path / "rec", real_cloudflared, record=record))})
    rt.tunnel.start()
    status = wait_for_error(rt)
    # It failed for the network, not for its command line (a usage error exits 0 with help on stdout).
    assert NETWORK_REASON in status["reason"], status
    log = rt.paths.log_file.read_text()
    assert "Incorrect Usage" not in log and "flag provided but not defined" not in log
    argv = record.read_text().split()
    assert "--metrics" in argv and argv[argv.index("--metrics") + 1].startswith("127.0.0.1:"), "a pinned port"
    assert ("--protocol" in argv) == (protocol != "auto")
    if protocol != "auto":
        assert argv[argv.index("--protocol") + 1] == protocol


def test_a_command_line_the_real_program_rejects_is_said_as_such(rt, real_cloudflared, tmp_path) -> None:
    rt.settings.update({"tunnel.mode": "quick", "tunnel.binary": str(
        wrapper(tmp_path / "bogus", real_cloudflared, "--no-such-nexus-flag"))})
    rt.tunnel.start()
    status = wait_for_error(rt)
    assert "refused the command line" in status["reason"] and "no-such-nexus-flag" in status["reason"], status


def test_usage_error_text_from_the_real_program(real_cloudflared) -> None:
    import subprocess

    out = subprocess.run([str(real_cloudflared), "tunnel", "--not-a-flag"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, "the real program exits 0 on a usage error: only its words tell"
    reason = plain_reason(out.stdout.splitlines(), out.returncode)
    assert reason.startswith("cloudflared refused the command line") and "not-a-flag" in reason


def test_offline_it_errors_restarts_with_backoff_gives_up_and_notifies_once(rt, no_leftover_processes) -> None:
    rt.settings.update({"tunnel.mode": "quick", "tunnel.restart_max_attempts": 2})
    events: list = []
    rt.bus.listen(events.append, topics=["tunnel.state"])
    started = time.monotonic()
    rt.tunnel.start()
    first_error = wait_until(lambda: next((e.data["reason"] for e in events if e.data["state"] == "error"), None),
                             10, "the first error")
    assert NETWORK_REASON in first_error and time.monotonic() - started < 10
    status = wait_until(lambda: (s := rt.tunnel.status())["state"] == "error" and "Gave up" in s["reason"] and s,
                        30, "giving up")
    assert status["restarts"] == 2 and NETWORK_REASON in status["reason"]
    restarts = [e.data["reason"] for e in events if e.data["state"] == "starting"
                and e.data["reason"].startswith("Restarting")]
    assert [r.split(")")[0] for r in restarts] == ["Restarting (attempt 1", "Restarting (attempt 2"]
    # The notification center, fed this very sequence of states: one notification for the
    # whole episode, not one per attempt.
    for event in list(events):
        rt.notifications.handle(event)
    downs = [n for n in rt.notifications.list()["notifications"] if n["kind"] == "tunnel_down"]
    assert len(downs) == 1 and NETWORK_REASON in downs[0]["body"], downs


@pytest.mark.parametrize("after", [0.0, 0.05, 0.3, 1.0, 2.5])
def test_stopping_at_any_moment_leaves_no_cloudflared(rt, real_cloudflared, quick_api, tmp_path, after,
                                                      no_leftover_processes) -> None:
    alive = wrapper(tmp_path / "w", real_cloudflared, "--quick-service", quick_api.url,
                    "--edge", f"127.0.0.1:{free_port()}")
    rt.settings.update({"tunnel.mode": "quick", "tunnel.binary": str(alive)})
    marker = rt.tunnel._origin
    rt.tunnel.start()
    if after:
        time.sleep(after)  # the moment of the stop is the parameter, not a wait for something
    rt.tunnel.stop()
    assert rt.tunnel.status()["state"] == "off"
    assert processes_of(real_cloudflared, marker) == []
    names = {t.name for t in threading.enumerate()}
    assert "nexus-tunnel" not in names and not any(n.startswith("cloudflared-stderr-") for n in names)


def test_named_tunnel_token_never_shows(rt, real_cloudflared, tmp_path) -> None:
    record = tmp_path / "argv.txt"
    rt.secrets.set(TOKEN_SECRET, TOKEN)
    rt.settings.update({"tunnel.mode": "named", "tunnel.hostname": "nexus.example.test",
                        "tunnel.binary": str(wrapper(tmp_path / "rec", real_cloudflared, record=record))})
    rt.tunnel.start()
    status = wait_for_error(rt)
    assert NETWORK_REASON in status["reason"], status
    passed = record.read_text()
    assert "token-in-env" in passed and TOKEN not in passed and " run" in passed
    assert TOKEN not in " ".join(psutil.Process().cmdline())
    log = rt.paths.log_file.read_text()
    assert "Starting tunnel tunnelID=3f1c2d6e" in log, "the real cloudflared read the token"
    for path in rt.paths.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert TOKEN.encode() not in data and TOKEN[:40].encode() not in data, path


def test_metrics_server_is_read_while_it_runs(rt, real_cloudflared, quick_api, tmp_path) -> None:
    alive = wrapper(tmp_path / "w", real_cloudflared, "--quick-service", quick_api.url,
                    "--edge", f"127.0.0.1:{free_port()}")
    rt.settings.update({"tunnel.mode": "quick", "tunnel.binary": str(alive), "tunnel.start_timeout": 6.0})
    rt.tunnel.start()
    # /quicktunnel gives the address, /ready says 0 connections (503): waiting, not connected.
    status = wait_until(lambda: (s := rt.tunnel.status())["connections"] == 0 and quick_api.hostname in s["reason"]
                        and s, 20, "the address and the connection count from cloudflared's metrics server")
    assert status["state"] == "starting" and status["url"] is None
    assert status["version"] == REAL_VERSION, "read from the running program's /metrics build_info"
    import urllib.request

    with urllib.request.urlopen(f"http://{status['metrics']}/metrics", timeout=5) as res:
        assert b"cloudflared_tunnel_ha_connections" in res.read()
    log = rt.paths.log_file.read_text()
    assert f"https://{quick_api.hostname}" in log, "the real quick-tunnel box went to the log"
    # No edge answers: after the start timeout it is an error that says why.
    status = wait_for_error(rt, 30)
    assert "did not connect within 6 s" in status["reason"] and NETWORK_REASON in status["reason"], status


def test_the_fake_prints_the_real_programs_lines(real_cloudflared, quick_api, tmp_path) -> None:
    """The fake's quick-tunnel notice and box are the real program's, byte for byte."""
    import subprocess
    import sys

    port = free_port()
    real = subprocess.Popen([str(real_cloudflared), "tunnel", "--no-autoupdate", "--quick-service", quick_api.url,
                             "--edge", f"127.0.0.1:{free_port()}", "--metrics", f"127.0.0.1:{port}",
                             "--url", "http://127.0.0.1:9"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert real.stdout is not None
        for line in real.stdout:
            lines.append(line.rstrip("\n"))
            if "Starting metrics server" in line or len(lines) > 200:
                break
    finally:
        real.terminate()
        real.wait(10)
    env = {**os.environ, "FAKE_CF_HOSTNAME": quick_api.hostname, "PYTHONPATH": str(ROOT)}
    fake = subprocess.Popen([sys.executable, "-m", "tests.fakes.fake_cloudflared", "tunnel", "--no-autoupdate",
                             "--metrics", "127.0.0.1:0", "--url", "http://127.0.0.1:9"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    fake_lines: list[str] = []
    try:
        assert fake.stdout is not None
        for line in fake.stdout:
            fake_lines.append(line.rstrip("\n"))
            if "Registered tunnel connection" in line:
                break
    finally:
        fake.terminate()
        fake.wait(10)

    def messages(output: list[str]) -> list[str]:
        # Drop the timestamp; keep level and message.
        return [line.split(" ", 1)[1] for line in output if line[:4].isdigit()]

    real_box = [m for m in messages(lines) if "Thank you" in m or "Requesting" in m or m.startswith("INF +")
                or m.startswith("INF |")]
    fake_box = [m for m in messages(fake_lines) if "Thank you" in m or "Requesting" in m or m.startswith("INF +")
                or m.startswith("INF |")]
    assert len(real_box) == 6 and real_box == fake_box
    registered = next(m for m in messages(fake_lines) if "Registered tunnel connection" in m)
    assert all(f" {field}=" in registered for field in ("connIndex", "connection", "event", "ip", "location",
                                                        "protocol"))
    version = subprocess.run([sys.executable, "-m", "tests.fakes.fake_cloudflared", "--version"], capture_output=True,
                             text=True, env=env, timeout=30).stdout
    assert version.startswith(f"cloudflared version {REAL_VERSION}")


def test_without_internet_the_download_fails_plainly(runtime, tmp_path, monkeypatch) -> None:
    """No cloudflared installed and no internet: the tunnel, the wizard and `nexus doctor` say so
    and how to point tunnel.binary at an installed cloudflared."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("NEXUS_CLOUDFLARED_URL", f"http://127.0.0.1:{free_port()}/cloudflared-linux-amd64")
    runtime.tunnel.set_origin("http://127.0.0.1:9")
    runtime.settings.update({"tunnel.mode": "quick"})
    runtime.tunnel.start()
    status = wait_for_error(runtime)
    assert "could not download it" in status["reason"] and "tunnel.binary" in status["reason"], status
    assert not (runtime.paths.root / "bin" / "cloudflared").exists()
    check = next(c for c in run_checks(runtime.settings, runtime.paths) if c.name == "cloudflared")
    assert not check.ok and "needs internet" in check.fix and "tunnel.binary" in check.fix
    wizard = next(c for c in runtime.setup.system_check() if c["name"] == "cloudflared")
    assert not wizard["ok"] and "tunnel.binary" in wizard["fix"]


def test_a_download_is_used_as_nexuss_own_copy(runtime, real_cloudflared, tmp_path, monkeypatch,
                                               serving_bytes) -> None:
    """With a reachable download (a local server handing out the real binary), the tunnel
    fetches it once into the data dir and runs it."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("NEXUS_CLOUDFLARED_URL", serving_bytes(real_cloudflared.read_bytes()))
    runtime.tunnel.set_origin("http://127.0.0.1:9")
    runtime.settings.update({"tunnel.mode": "quick", "tunnel.restart_max_attempts": 0})
    runtime.tunnel.start()
    status = wait_for_error(runtime, 60)
    runtime.tunnel.stop()
    own = runtime.paths.root / "bin" / "cloudflared"
    assert own.is_file() and os.access(own, os.X_OK)
    assert status["binary"] == str(own) and status["version"] == REAL_VERSION
    assert NETWORK_REASON in status["reason"], status
