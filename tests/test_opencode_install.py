"""The wizard installs OpenCode with npm for a newcomer: the exact command, its output as it
comes, one install at a time, a clear answer when npm is missing, and only from this
computer before setup is done. npm here is a stand-in script on PATH (the real one would
download from the registry); it runs as a real child process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.wait_helpers import wait_until

HOST = {"Host": "127.0.0.1"}
pytestmark = pytest.mark.fresh_install


@pytest.fixture(autouse=True)
def _setup_token(runtime, client) -> None:
    """A new install: this browser opened the address with the setup token."""
    from tests.auth_helpers import with_setup_token

    with_setup_token(client, runtime, **HOST)


def _fake_npm(folder: Path, seconds: float, code: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    npm = folder / "npm"
    npm.write_text(f"#!/bin/sh\necho \"npm args: $*\"\necho 'added 1 package'\nsleep {seconds}\n"
                   f"echo 'done installing'\nexit {code}\n")
    npm.chmod(0o755)


def _wait_done(client, deadline: float = 30.0) -> dict:
    return wait_until(lambda: (state := client.get("/api/setup/opencode-install", headers=HOST).json)["state"]
                      != "running" and state, deadline, "the install to end")


def test_install_runs_npm_and_shows_its_output(runtime, client, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_npm(tmp_path / "bin", 0.5)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + ":/usr/bin:/bin")
    before = client.get("/api/setup/opencode-install", headers=HOST).json
    assert before == {"command": "npm install -g opencode-ai", "npm_found": True, "state": "idle",
                      "returncode": None, "output": []}
    started = client.post("/api/setup/opencode-install", headers=HOST)
    assert started.status_code == 202 and started.json["state"] == "running"
    again = client.post("/api/setup/opencode-install", headers=HOST)
    assert again.status_code == 409 and again.json["error"]["code"] == "install_running"
    done = _wait_done(client)
    assert done["state"] == "done" and done["returncode"] == 0
    assert done["output"][0] == "$ npm install -g opencode-ai"
    assert "npm args: install -g opencode-ai" in done["output"] and done["output"][-1] == "done installing"


def test_a_failed_install_says_so_with_the_code(runtime, client, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_npm(tmp_path / "bin", 0, code=243)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + ":/usr/bin:/bin")
    assert client.post("/api/setup/opencode-install", headers=HOST).status_code == 202
    done = _wait_done(client)
    assert done["state"] == "failed" and done["returncode"] == 243
    assert "npm ended with code 243" in done["output"][-1]


def test_without_npm_the_answer_says_what_to_do(runtime, client, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert client.get("/api/setup/opencode-install", headers=HOST).json["npm_found"] is False
    refused = client.post("/api/setup/opencode-install", headers=HOST)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "npm_missing"
    assert "nodejs.org" in refused.json["error"]["message"] and "Anthropic" in refused.json["error"]["message"]


def test_stopping_the_runtime_ends_a_running_install(runtime, client, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_npm(tmp_path / "bin", 30)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + ":/usr/bin:/bin")
    assert client.post("/api/setup/opencode-install", headers=HOST).status_code == 202
    proc = runtime.opencode_installer._proc
    runtime.opencode_installer.stop()
    assert proc is not None and proc.poll() is not None
    assert client.get("/api/setup/opencode-install", headers=HOST).json["state"] == "failed"


def test_before_setup_only_this_computer_may_install(runtime, client) -> None:
    remote = {"Host": "127.0.0.1", "Cf-Connecting-Ip": "203.0.113.9"}
    response = client.post("/api/setup/opencode-install", headers=remote)
    assert response.status_code in (401, 403)
