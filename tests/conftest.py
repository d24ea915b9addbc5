"""Shared fixtures: a real Nexus on a temporary data dir, and the real OpenCode server
wired to the project's fake model provider."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from nexus.runtime import Runtime
from tests.runtime_helpers import CHEAP_ARGON2, open_runtime, preconfigure  # noqa: F401  (older tests import them from here)

ROOT = Path(__file__).resolve().parent.parent
OPENCODE_BIN = Path(os.environ.get(
    "NEXUS_TEST_OPENCODE", ROOT / ".cache" / "opencode" / "node_modules" / "opencode-linux-x64" / "bin" / "opencode"))

# The real cloudflared (shared/tools/cloudflared beside the checkout, as in CI), for the tunnel tests.
REAL_CLOUDFLARED = Path(os.environ.get("NEXUS_TEST_CLOUDFLARED",
                                       ROOT.parent / "shared" / "tools" / "cloudflared" / "cloudflared"))
REAL_CLOUDFLARED_VERSION = "2026.8.2-1-gd1df7985"

# A chat event that does not match its declared payload fails the test whose code emitted it
# (nexus/chat/event_check.py); Nexus processes the tests start inherit it.
os.environ.setdefault("NEXUS_STRICT_EVENTS", "1")


@pytest.fixture(scope="session")
def real_cloudflared() -> Path:
    """The real cloudflared binary; skipped where it is absent, except in CI, where it must be."""
    if not (REAL_CLOUDFLARED.is_file() and os.access(REAL_CLOUDFLARED, os.X_OK)):
        if os.environ.get("CI"):
            pytest.fail(f"the real cloudflared must be at {REAL_CLOUDFLARED} in CI (shared/tools/cloudflared)")
        pytest.skip(f"the real cloudflared is not at {REAL_CLOUDFLARED} (set NEXUS_TEST_CLOUDFLARED)")
    return REAL_CLOUDFLARED


def _rg_dir() -> str | None:
    rg = shutil.which("rg") or (str(Path(os.sys.executable).parent / "rg")
                                if (Path(os.sys.executable).parent / "rg").exists() else None)
    return str(Path(rg).parent) if rg else None


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user's Nexus data."""
    monkeypatch.setenv("NEXUS_HOME", str(tmp_path_factory.mktemp("nexus-home")))
    monkeypatch.delenv("NEXUS_DATABASE_URL", raising=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fresh_install: make_runtime (and `runtime`) give a new install: no owner, setup not done")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After the whole run: no secret a test used (passwords, API keys, the tunnel token) is in
    any file the tests left behind: data dirs, databases, logs, the file store."""
    from tests.auth_helpers import files_containing_secrets

    base = session.config._tmp_path_factory.getbasetemp() if hasattr(session.config, "_tmp_path_factory") else None
    if base is None or not base.exists():
        return
    hits = files_containing_secrets(base)
    if hits:
        session.config.get_terminal_writer().line("SECRETS FOUND IN FILES:\n" + "\n".join(hits[:50]), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _no_real_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the developer's OS keyring: secrets go to the encrypted file store
    (tests of the keyring path hand SecretStore an in-memory backend)."""
    monkeypatch.setattr("nexus.secrets.store.keyring_usable", lambda backend=None: backend is not None)


@pytest.fixture
def make_runtime(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Iterator[Callable[..., Runtime]]:
    """make_runtime(settings=None, *, data_dir=tmp_path / "data", owner=True, setup_done=None,
    **more_settings) -> a real Runtime, opened (not started) with cheap Argon2 and the settings
    (dotted keys: pass a dict, or `**{"server.autostart": True}`). By default the install has
    the owner OWNER/PASSWORD with local sign-in off and a finished setup; `owner=False` gives a
    new install (no owner, setup not done), as does marking the test `fresh_install`. Every
    runtime it made is stopped after the test, passed or failed (stopping twice is harmless),
    before its store (`database_url`: SQLite, or PostgreSQL in modules that ask for both) goes."""
    made: list[Runtime] = []
    fresh = request.node.get_closest_marker("fresh_install") is not None

    def make(settings: dict[str, Any] | None = None, /, *, data_dir: Path | None = None, owner: bool | None = None,
             setup_done: bool | None = None, **more_settings: Any) -> Runtime:
        rt = open_runtime(data_dir or tmp_path / "data", {**(settings or {}), **more_settings},
                          owner=not fresh if owner is None else owner, setup_done=setup_done)
        made.append(rt)
        return rt

    yield make
    for rt in reversed(made):
        rt.stop()


@pytest.fixture
def serve_runtime(make_runtime: Callable[..., Runtime]) -> Iterator[Callable[..., Any]]:
    """serve_runtime(rt, port=0) -> a real threaded WebServer for `rt`'s app on 127.0.0.1 (its
    `url`). Every server it started is stopped after the test, before the runtimes are."""
    from nexus.ui import create_app
    from nexus.ui.http_server import WebServer

    servers: list[WebServer] = []

    def serve(rt: Runtime, port: int = 0) -> WebServer:
        server = WebServer(create_app(rt), "127.0.0.1", port).start()
        servers.append(server)
        return server

    yield serve
    for server in reversed(servers):
        server.stop()


# ----- the store: SQLite and a real PostgreSQL --------------------------------------------------

def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test module that sets `DATABASES = ("sqlite", "postgres")` runs each test that uses the
    `database_url` fixture (directly, or through `runtime`) once on each store."""
    if "database_url" not in metafunc.fixturenames:
        return
    kinds = getattr(metafunc.module, "DATABASES", None)
    chosen = any("database_url" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize"))
    if not kinds or chosen:
        return
    metafunc.parametrize("database_url", [pytest.param(k, marks=[pytest.mark.postgres] if k == "postgres" else [])
                                          for k in kinds], indirect=True, ids=list(kinds))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """One throwaway PostgreSQL cluster for the whole run, on a loopback port; stopped and
    deleted at the end even when tests failed. Missing PostgreSQL skips outside CI and fails in CI."""
    from tests.postgres_server import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the PostgreSQL tests: {exc}")
        pytest.skip(str(exc))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of an empty store for this test. PostgreSQL: a new database on the session's
    server, also set as NEXUS_DATABASE_URL so runtimes (and `python -m nexus` children) use it,
    dropped afterwards. SQLite: the file a runtime on `tmp_path / "data"` uses anyway."""
    from nexus.store.database import sqlite_url

    if getattr(request, "param", "sqlite") != "postgres":
        (tmp_path / "data").mkdir(exist_ok=True)
        yield sqlite_url(tmp_path / "data" / "nexus.db")
        return
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    monkeypatch.setenv("NEXUS_DATABASE_URL", server.url(name))
    yield server.url(name)
    server.drop_database(name)


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], database_url: str) -> Runtime:
    """A Nexus runtime (see make_runtime) whose services are built but not started; OpenCode
    autostart off."""
    return make_runtime({"server.autostart": False})


@pytest.fixture
def live_stream(runtime: Runtime, serve_runtime: Callable[..., Any]) -> Any:
    """The `runtime` started and served on a real loopback socket (OpenCode not started): the
    WebServer, with its `url`."""
    runtime.start()
    return serve_runtime(runtime)


@pytest.fixture
def chat_runtime(database_url: str, opencode_settings: dict, no_leftover_processes: None,
                 make_runtime: Callable[..., Runtime]) -> Runtime:
    """A started runtime with the real OpenCode (fake model) running and the engine following
    its event stream; quick restarts."""
    from tests.chat_helpers import wait_for_opencode

    rt = make_runtime(opencode_settings, **{"server.autostart": True, "restart.initial_delay": 0.2})
    rt.start()
    wait_for_opencode(rt)
    return rt


@pytest.fixture
def app(runtime: Runtime):
    from nexus.ui import create_app

    return create_app(runtime, {"TESTING": True})


@pytest.fixture
def client(app):
    """A browser on this computer: it carries the anonymous CSRF cookie and sends its token."""
    from nexus.auth import csrf_for

    client = app.test_client()
    client.set_cookie("nexus_csrf_80", "test-anonymous-csrf-cookie")  # cookie names carry the port (80 here)
    client.environ_base["HTTP_X_CSRF_TOKEN"] = csrf_for("test-anonymous-csrf-cookie")
    return client


# ----- the real OpenCode server -------------------------------------------------------------

@pytest.fixture(scope="session")
def opencode_bin() -> str:
    if not OPENCODE_BIN.exists():
        pytest.fail(f"The real OpenCode binary is missing at {OPENCODE_BIN}: run scripts/install-opencode.sh "
                    "(the test command in the README does).")
    return str(OPENCODE_BIN)


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[object]:
    from tests.fakes.fake_llm import FakeLLM

    with FakeLLM() as fake:
        yield fake


@pytest.fixture
def opencode_settings(opencode_bin: str, fake_llm, tmp_path: Path) -> dict:
    """Settings that make Nexus run the real OpenCode offline against the fake provider."""
    from tests.fakes.fake_llm import opencode_env

    env = as_server_env(opencode_env(fake_llm.base_url, str(tmp_path / "opencode-state"), _rg_dir()))
    return {"server.binary": opencode_bin, "server.env": env, "server.workspace": str(tmp_path / "workspace")}


def as_server_env(env: dict[str, str]) -> dict[str, str]:
    """An environment fit for the `server.env` setting, which refuses loader and interpreter
    names (SHELL, LD_*, PYTHON*, ...) that a test's own environment carries."""
    from nexus.settings import is_injection_name

    return {k: v for k, v in env.items() if not is_injection_name(k)}


@pytest.fixture
def no_leftover_processes() -> Iterator[None]:
    """Fails the test if it leaves any child process of this test process behind."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    yield
    # Only processes this test started: a new grandchild of a process that already ran (the
    # session's Chromium starting a utility process, say) belongs to that older owner.
    leftovers = [p for p in me.children(recursive=True) if p.pid not in before and not _has_ancestor(p, before)]
    alive = []
    for proc in leftovers:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{proc.pid} {' '.join(proc.cmdline()[:3])}")
                proc.kill()
        except psutil.Error:
            pass
    assert not alive, f"processes left behind: {alive}"


def _has_ancestor(proc: psutil.Process, pids: set[int]) -> bool:
    try:
        return any(parent.pid in pids for parent in proc.parents())
    except psutil.Error:
        return False


@pytest.fixture
def fake_anthropic() -> Iterator[object]:
    """The fake Anthropic Messages API (tests/fakes/fake_anthropic.py), scripted per test."""
    from tests.fakes.fake_anthropic import FakeAnthropic

    server = FakeAnthropic().start()
    yield server
    server.stop()


@pytest.fixture
def serving_bytes() -> Iterator[Callable[[bytes], str]]:
    """serving_bytes(payload) -> the URL of a local HTTP server answering every GET with
    `payload` (a download from "the internet", on 127.0.0.1); servers stop with the test."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def serve(payload: bytes) -> str:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, name="test-download-server", daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}/cloudflared-linux-amd64"

    yield serve
    for server, thread in servers:
        server.shutdown()
        thread.join(5)
        server.server_close()
