"""Shared fixtures: a real Nexus on a temporary data dir, and the real OpenCode server
wired to the project's fake model provider."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import psutil
import pytest

from nexus.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
OPENCODE_BIN = Path(os.environ.get(
    "NEXUS_TEST_OPENCODE", ROOT / ".cache" / "opencode" / "node_modules" / "opencode-linux-x64" / "bin" / "opencode"))


def _rg_dir() -> str | None:
    rg = shutil.which("rg") or (str(Path(os.sys.executable).parent / "rg")
                                if (Path(os.sys.executable).parent / "rg").exists() else None)
    return str(Path(rg).parent) if rg else None


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user's Nexus data."""
    monkeypatch.setenv("NEXUS_HOME", str(tmp_path_factory.mktemp("nexus-home")))
    monkeypatch.delenv("NEXUS_DATABASE_URL", raising=False)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A Nexus runtime whose services are built but not started; OpenCode autostart off."""
    rt = Runtime.open(tmp_path / "data", console_log=False)
    rt.settings.update({"server.autostart": False})
    yield rt
    rt.stop()


@pytest.fixture
def app(runtime: Runtime):
    from nexus.ui import create_app

    return create_app(runtime, {"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


# ----- the real OpenCode server -------------------------------------------------------------

@pytest.fixture(scope="session")
def opencode_bin() -> str:
    if not OPENCODE_BIN.exists():
        pytest.fail(f"The real OpenCode binary is missing at {OPENCODE_BIN}: run scripts/install-opencode.sh "
                    "(the test command in the README does).")
    return str(OPENCODE_BIN)


@pytest.fixture(scope="session")
def fake_llm() -> Iterator["object"]:
    from tests.fakes.fake_llm import FakeLLM

    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def opencode_settings(opencode_bin: str, fake_llm, tmp_path: Path) -> dict:
    """Settings that make Nexus run the real OpenCode offline against the fake provider."""
    from tests.fakes.fake_llm import opencode_env

    env = opencode_env(fake_llm.base_url, str(tmp_path / "opencode-state"), _rg_dir())
    return {"server.binary": opencode_bin, "server.env": env, "server.workspace": str(tmp_path / "workspace")}


@pytest.fixture
def no_leftover_processes() -> Iterator[None]:
    """Fails the test if it leaves any child process of this test process behind."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    yield
    leftovers = [p for p in me.children(recursive=True) if p.pid not in before]
    alive = []
    for proc in leftovers:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{proc.pid} {' '.join(proc.cmdline()[:3])}")
                proc.kill()
        except psutil.Error:
            pass
    assert not alive, f"processes left behind: {alive}"
