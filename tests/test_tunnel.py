"""The tunnel manager against the fake cloudflared: quick and named tunnels, the token by
environment, plain-word errors, restart with backoff, the QR code, nothing left behind,
and the one-time download into the data dir (from a local URL: offline here)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import psutil
import pytest

from nexus.tunnel import TOKEN_SECRET, TunnelError, download_cloudflared, find_cloudflared
from nexus.tunnel.manager import plain_reason
from tests.auth_helpers import TUNNEL_TOKEN
from tests.fakes.fake_cloudflared import make_fake_binary
from tests.wait_helpers import wait_until


@pytest.fixture
def fake_cf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    binary = make_fake_binary(tmp_path / "fakebin")
    state = tmp_path / "fake-cf-state.json"
    monkeypatch.setenv("FAKE_CF_STATE", str(state))
    return binary


@pytest.fixture
def tunnel_rt(runtime, fake_cf):
    runtime.settings.update({"tunnel.binary": str(fake_cf), "tunnel.start_timeout": 15.0})
    runtime.tunnel.set_origin("http://127.0.0.1:9")
    yield runtime
    runtime.tunnel.stop()


def fake_state(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "fake-cf-state.json").read_text())


def test_quick_tunnel_connects_and_reports_its_url(tunnel_rt, tmp_path, no_leftover_processes) -> None:
    tunnel_rt.settings.update({"tunnel.mode": "quick", "tunnel.protocol": "http2"})
    tunnel_rt.tunnel.start()
    assert tunnel_rt.tunnel.wait_for({"connected", "error"}, 15) == "connected", tunnel_rt.tunnel.status()
    status = tunnel_rt.tunnel.status()
    state = fake_state(tmp_path)
    assert status["url"] == f"https://{state['hostname']}" and status["url"].endswith(".trycloudflare.com")
    assert state["protocol"] == "http2"
    assert "--url" in state["argv"] and "http://127.0.0.1:9" in state["argv"]
    assert state["hostname"] in tunnel_rt.tunnel.allowed_hosts()
    svg = tunnel_rt.tunnel.qr_svg()
    assert svg.startswith("<svg") and "<path" in svg
    assert any(e["event"] == "tunnel-started" for e in tunnel_rt.audit.recent())
    threads = {t.name for t in threading.enumerate()}
    assert "nexus-tunnel" in threads and any(n.startswith("cloudflared-stderr-") for n in threads)
    tunnel_rt.tunnel.stop()
    assert tunnel_rt.tunnel.status()["state"] == "off"
    assert not psutil.pid_exists(state["pid"]) or psutil.Process(state["pid"]).status() == psutil.STATUS_ZOMBIE
    names = {t.name for t in threading.enumerate()}
    assert "nexus-tunnel" not in names and not any(n.startswith("cloudflared-stderr-") for n in names)
    assert any(e["event"] == "tunnel-stopped" for e in tunnel_rt.audit.recent())


def test_url_falls_back_to_the_log_line(tunnel_rt, monkeypatch) -> None:
    tunnel_rt.settings.update({"tunnel.mode": "quick"})
    real_get = tunnel_rt.tunnel._get
    monkeypatch.setattr(tunnel_rt.tunnel, "_get", lambda path: None if path == "/quicktunnel" else real_get(path))
    tunnel_rt.tunnel.start()
    assert tunnel_rt.tunnel.wait_for({"connected", "error"}, 15) == "connected"
    assert tunnel_rt.tunnel.status()["url"].endswith(".trycloudflare.com")


def test_named_tunnel_gets_its_token_by_environment_never_argv(tunnel_rt, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_CF_HOSTNAME", "nexus.example.test")
    tunnel_rt.secrets.set(TOKEN_SECRET, TUNNEL_TOKEN)
    tunnel_rt.settings.update({"tunnel.mode": "named", "tunnel.hostname": "nexus.example.test"})
    tunnel_rt.tunnel.start()
    assert tunnel_rt.tunnel.wait_for({"connected", "error"}, 15) == "connected", tunnel_rt.tunnel.status()
    state = fake_state(tmp_path)
    assert state["token_in_env"] is True
    assert TUNNEL_TOKEN not in " ".join(state["argv"]) and "run" in state["argv"]
    assert tunnel_rt.tunnel.status()["url"] == "https://nexus.example.test"
    assert TUNNEL_TOKEN not in " ".join(psutil.Process(state["pid"]).cmdline())


def test_named_tunnel_needs_token_and_hostname(tunnel_rt) -> None:
    tunnel_rt.settings.update({"tunnel.mode": "named"})
    with pytest.raises(TunnelError, match="token"):
        tunnel_rt.tunnel.start()
    assert tunnel_rt.tunnel.status()["state"] == "error"


def test_bad_token_is_said_in_plain_words(tunnel_rt, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_CF_BEHAVIOUR", "bad-token")
    tunnel_rt.secrets.set(TOKEN_SECRET, TUNNEL_TOKEN)
    tunnel_rt.settings.update({"tunnel.mode": "named", "tunnel.hostname": "nexus.example.test",
                               "tunnel.restart_max_attempts": 0})
    tunnel_rt.tunnel.start()
    assert tunnel_rt.tunnel.wait_for({"error"}, 15) == "error"
    wait_until(lambda: "token is not valid" in tunnel_rt.tunnel.status()["reason"], 5, "the plain reason")


def test_offline_gives_up_after_the_configured_restarts(tunnel_rt, monkeypatch, no_leftover_processes) -> None:
    monkeypatch.setenv("FAKE_CF_BEHAVIOUR", "offline")
    tunnel_rt.settings.update({"tunnel.mode": "quick", "tunnel.restart_max_attempts": 1})
    tunnel_rt.tunnel.start()
    status = wait_until(lambda: (s := tunnel_rt.tunnel.status())["state"] == "error" and "Gave up" in s["reason"]
                        and s, 20, "giving up")
    assert "could not reach Cloudflare" in status["reason"] and status["restarts"] == 1, status
    tunnel_rt.tunnel.stop()


def test_restarts_with_backoff_when_cloudflared_dies(tunnel_rt, monkeypatch, no_leftover_processes) -> None:
    monkeypatch.setenv("FAKE_CF_BEHAVIOUR", "die-after:0.8")
    tunnel_rt.settings.update({"tunnel.mode": "quick", "tunnel.restart_max_attempts": 3})
    states = []
    tunnel_rt.bus.listen(lambda e: states.append(e.data["state"]), topics=["tunnel.state"])
    tunnel_rt.tunnel.start()
    wait_until(lambda: tunnel_rt.tunnel.status()["restarts"] >= 1, 20, "a restart")
    assert tunnel_rt.tunnel.wait_for({"connected"}, 10) == "connected"
    assert tunnel_rt.tunnel.status()["restarts"] >= 1
    assert "connected" in states and "error" in states
    tunnel_rt.tunnel.stop()


def test_stderr_goes_to_the_log_continuously(tunnel_rt) -> None:
    tunnel_rt.settings.update({"tunnel.mode": "quick"})
    tunnel_rt.tunnel.start()
    tunnel_rt.tunnel.wait_for({"connected"}, 15)
    wait_until(lambda: "Registered tunnel connection" in tunnel_rt.paths.log_file.read_text(), 10,
               "cloudflared's lines in the log while it runs")
    tunnel_rt.tunnel.stop()
    lines = [json.loads(l) for l in tunnel_rt.paths.log_file.read_text().splitlines()]
    from_cf = [l["message"] for l in lines if l.get("source") == "cloudflared"]
    assert any("Registered tunnel connection" in m for m in from_cf)
    assert any("graceful shutdown" in m for m in from_cf), "read to the very end"


def test_plain_reasons() -> None:
    assert "limiting" in plain_reason(['... status_code="429 Too Many Requests"'], 1)
    assert "limiting" in plain_reason(["... error code: 1015"], 1)
    # A port or an ID that happens to contain 429 is not a rate limit (a CI run met metrics :40429).
    offline = ["INF Settings: map[metrics:127.0.0.1:40429 protocol:quic]",
               'ERR Failed to dial a quic connection error="failed to dial to edge with quic: timeout"']
    assert "could not reach Cloudflare" in plain_reason(offline, None)
    assert plain_reason(["something odd"], 2) == "cloudflared stopped (exit code 2): something odd"


def test_start_without_a_mode_or_binary_is_a_clear_error(runtime, tmp_path, monkeypatch) -> None:
    runtime.tunnel.set_origin("http://127.0.0.1:9")
    with pytest.raises(TunnelError, match="off"):
        runtime.tunnel.start()
    runtime.settings.update({"tunnel.mode": "quick", "tunnel.binary": str(tmp_path / "missing" / "cloudflared")})
    with pytest.raises(TunnelError, match="does not exist"):
        runtime.tunnel.start()  # a path the owner named is not replaced by a download


def test_binary_lookup_order(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    own = tmp_path / "data" / "bin" / "cloudflared"
    own.parent.mkdir(parents=True)
    own.write_text("#!/bin/sh\n")
    own.chmod(0o755)
    assert find_cloudflared("", tmp_path / "data") == (str(own), "Nexus's copy")
    on_path = make_fake_binary(tmp_path / "onpath")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert find_cloudflared("", tmp_path / "data")[1] == "PATH"
    assert find_cloudflared(str(own), tmp_path / "data")[1] == "settings"


def test_download_into_the_data_dir_from_a_local_url(tmp_path, serving_bytes) -> None:
    payload = b"\x7fELF fake cloudflared binary"
    path = download_cloudflared(tmp_path / "data", serving_bytes(payload))
    assert Path(path) == tmp_path / "data" / "bin" / "cloudflared"
    assert Path(path).read_bytes() == payload and os.access(path, os.X_OK)
    from nexus.tunnel.binary import download_url

    assert download_url().startswith("https://github.com/cloudflare/cloudflared/releases/")


def test_failed_download_leaves_nothing(tmp_path) -> None:
    from nexus.tunnel import CloudflaredNotFound

    with pytest.raises(CloudflaredNotFound, match="could not download it"):
        download_cloudflared(tmp_path / "data", "http://127.0.0.1:9/cloudflared", timeout=2)
    assert not list((tmp_path / "data" / "bin").iterdir())
