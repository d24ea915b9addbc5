"""The supervisor against the real OpenCode binary and real child processes."""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import httpx2
import psutil
import pytest

from nexus.runtime import Runtime
from nexus.server import ServerState
from nexus.server.supervisor import ATTACH_PASSWORD_SECRET, ServerError
from tests.wait_helpers import wait_until

pytestmark = pytest.mark.opencode


@pytest.fixture
def server_runtime(tmp_path: Path, opencode_settings: dict, no_leftover_processes, make_runtime) -> Runtime:
    rt = make_runtime()
    rt.settings.update({**opencode_settings, "server.autostart": False, "server.stop_timeout": 3.0,
                        "restart.initial_delay": 0.2, "restart.factor": 2.0, "restart.max_delay": 1.0,
                        "restart.reset_after": 600.0})
    yield rt
    rt.stop()


def states_from(sub) -> list[str]:
    out = []
    while (event := sub.get(timeout=0)) is not None:
        out.append(event.data["state"])
    return out


def test_start_health_protection_restart_and_clean_stop(server_runtime: Runtime) -> None:
    rt = server_runtime
    sup = rt.supervisor
    rt.start()
    with rt.bus.subscribe(["server.state"]) as sub:
        status = sup.start()
        assert status["state"] == "running"
        assert status["version"] == "1.18.33"
        assert status["protected"] is True
        assert status["url"].startswith("http://127.0.0.1:")
        first_pid = status["pid"]
        assert psutil.Process(first_pid).is_running()

        # Only Nexus holds the password: a plain request is turned away.
        plain = httpx2.get(f"{status['url']}/session", timeout=5, trust_env=False)
        assert plain.status_code == 401
        # ...while Nexus's own client (counted) gets through.
        requests_before, errors_before = sup.counters.snapshot()
        assert isinstance(sup.client.json("GET", "/session"), list)
        requests_after, errors_after = sup.counters.snapshot()
        # (the chat engine's event stream may add its own request meanwhile)
        assert requests_after >= requests_before + 1 and errors_after == errors_before

        status = sup.restart()
        assert status["state"] == "running" and status["pid"] != first_pid
        assert not psutil.pid_exists(first_pid) or psutil.Process(first_pid).status() == psutil.STATUS_ZOMBIE
        assert status["restarts"] == 1
        [entry] = sup.history()
        assert (entry["reason"], entry["outcome"]) == ("manual", "ok")

        second_pid = status["pid"]
        assert sup.stop()["state"] == "stopped"
        assert not psutil.pid_exists(second_pid)
        assert states_from(sub) == ["starting", "running", "starting", "running", "stopping", "stopped"]

    # The server's output went to the log, tagged with its source, without the password.
    lines = [json.loads(l) for l in rt.paths.log_file.read_text().splitlines()]
    opencode_lines = [l for l in lines if l["source"] == "opencode"]
    assert any("listening on" in l["message"] for l in opencode_lines)


def test_survives_five_kill_9_in_a_row_with_backoff(server_runtime: Runtime) -> None:
    rt = server_runtime
    sup = rt.supervisor
    rt.start()
    sup.start()
    # What a dashboard reloading its history on `running` would see: the restart already ok.
    outcomes_when_running: list[str] = []
    rt.bus.listen(lambda e: e.data["state"] == "running" and sup.history()
                  and outcomes_when_running.append(sup.history()[0]["outcome"]), ["server.state"])
    delays = []
    with rt.bus.subscribe(["server.state"]) as sub:
        for round_ in range(5):
            pid = sup.pid
            assert pid
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: sup.state == ServerState.RUNNING and sup.pid not in (None, pid), 30,  # noqa: B023 - called at once
                     f"restart after kill #{round_ + 1}")
        events = []
        while (event := sub.get(timeout=0)) is not None:
            events.append(event)
    delays = [e.data["delay"] for e in events if e.data["state"] == "backing-off"]
    assert delays == [0.2, 0.4, 0.8, 1.0, 1.0], "exponential, capped at max_delay"
    crashed = [e for e in events if e.data["state"] == "crashed"]
    assert len(crashed) == 5 and all("-9" in e.data["reason"] for e in crashed)
    history = sup.history()
    assert [h["reason"] for h in history] == ["crashed"] * 5
    assert [h["exit_code"] for h in history] == [-9] * 5
    assert [h["outcome"] for h in history] == ["ok"] * 5
    # The listener runs in the supervisor's thread just after the state changes: wait for it.
    wait_until(lambda: len(outcomes_when_running) >= 5, 10, "the fifth running event was heard")
    assert outcomes_when_running == ["ok"] * 5
    assert [h["attempt"] for h in reversed(history)] == [1, 2, 3, 4, 5]
    assert sup.status()["restarts"] == 5


def test_gives_up_after_max_attempts(server_runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = server_runtime
    crasher = tmp_path / "opencode-that-crashes"
    crasher.write_text("#!/bin/sh\necho 'boom: cannot start' >&2\nexit 3\n")
    crasher.chmod(crasher.stat().st_mode | stat.S_IEXEC)
    rt.settings.update({"server.binary": str(crasher), "restart.max_attempts": 3, "server.autostart": True})
    with rt.bus.subscribe(["server.state"]) as sub:
        rt.start()
        wait_until(lambda: rt.supervisor.state == ServerState.GAVE_UP, 20, "gave-up")
        events = []
        while (event := sub.get(timeout=0)) is not None:
            events.append(event)
    assert events[-1].data["state"] == "gave-up"
    assert "gave up after 3 attempts" in events[-1].data["reason"]
    assert "boom: cannot start" in rt.supervisor.status()["last_error"]
    history = rt.supervisor.history()
    assert [h["outcome"] for h in history] == ["gave-up", "failed", "failed", "failed"]
    # The monitor stays quiet once it gave up: watched for more of its rounds than the longest
    # back-off (restart.max_delay, 1 s) takes.
    ticks = []
    real_tick = rt.supervisor._tick
    monkeypatch.setattr(rt.supervisor, "_tick", lambda: (real_tick(), ticks.append(rt.supervisor.state)))
    wait_until(lambda: len(ticks) >= 8, 20, "eight rounds of the monitor")
    assert set(ticks) == {ServerState.GAVE_UP}
    assert rt.supervisor.state == ServerState.GAVE_UP
    assert len(rt.supervisor.history()) == 4


def test_unanswering_server_is_restarted_after_failed_health_checks(server_runtime: Runtime) -> None:
    rt = server_runtime
    rt.settings.update({"server.health_interval": 0.3, "server.health_timeout": 0.5, "server.health_failures": 2,
                        "server.stop_timeout": 1.0})
    sup = rt.supervisor
    rt.start()
    sup.start()
    frozen = sup.pid
    # A stopped process keeps its port open but never answers: the "hung server" case.
    os.killpg(frozen, signal.SIGSTOP)
    try:
        wait_until(lambda: sup.state == ServerState.RUNNING and sup.pid not in (None, frozen), 40,
                 "restart of the hung server")
    finally:
        try:
            os.killpg(frozen, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert not psutil.pid_exists(frozen)
    [entry] = sup.history()
    assert entry["reason"] == "unhealthy" and "health checks failed" in entry["detail"]


def test_attaches_to_a_server_it_did_not_start(server_runtime: Runtime, opencode_settings: dict,
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nexus.server.process import OpenCodeProcess

    external = OpenCodeProcess(opencode_settings["server.binary"], tmp_path / "ext-workspace",
                               opencode_settings["server.env"], password="external-pass-123")
    url = external.start(timeout=30)
    try:
        rt = server_runtime
        rt.settings.update({"server.url": url})
        with pytest.raises(ServerError, match="401"):
            rt.supervisor.start()  # no password yet: OpenCode turns Nexus away
        from nexus.ui import create_app

        client = create_app(rt).test_client()
        # The password of the server Nexus attaches to is a security setting: the owner, present.
        from tests.auth_helpers import PASSWORD

        confirmed = client.post("/api/auth/confirm", json={"password": PASSWORD})
        assert confirmed.status_code == 200, confirmed.json
        client.environ_base["HTTP_X_CSRF_TOKEN"] = confirmed.json["csrf_token"]
        assert client.put("/api/server/password", json={"password": "external-pass-123"}).status_code == 200
        assert rt.secrets.get(ATTACH_PASSWORD_SECRET) == "external-pass-123"
        status = rt.supervisor.start()
        assert status["state"] == "running" and status["mode"] == "attached"
        assert status["pid"] is None and status["url"] == url
        rt.supervisor.stop()
        assert external.poll() is None, "detaching leaves someone else's server running"
    finally:
        external.stop(5)


def test_metrics_measure_the_real_process(server_runtime: Runtime) -> None:
    rt = server_runtime
    rt.supervisor.start()
    rt.metrics.sample()
    rt.supervisor.client.json("GET", "/session")
    sample = rt.metrics.sample()
    assert sample["state"] == "running"
    assert sample["rss_bytes"] > 50 * 1024 * 1024, "OpenCode is a Bun binary of a few hundred MB"
    assert sample["threads"] >= 1
    assert sample["requests"] >= 1 and sample["requests_total"] >= 2
    # The live chart's ring gives back each sample whole (it keeps them as tuples), and `since`.
    assert rt.metrics.history()[-1] == sample
    assert rt.metrics.history(since=sample["at"] - 1e-3) == [sample]


def test_missing_binary_is_a_clear_error(server_runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = server_runtime
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("HOME", "/nonexistent")
    rt.settings.update({"server.binary": ""})
    from nexus.server.supervisor import ServerError

    with pytest.raises(ServerError, match="No OpenCode binary found"):
        rt.supervisor.start()
    assert rt.supervisor.status()["state"] == "stopped"
    assert "npm install -g opencode-ai" in rt.supervisor.status()["last_error"]
