"""A real Nexus with the real OpenCode (talking to the project's fake model provider), for the
chat UI's browser tests and benchmarks. One is shared per test module: OpenCode takes a few
seconds to start.

`chat_nexus(base_dir)` is a context manager, so bench/ scripts and a developer's shell can run
the same stack:  python -m tests.browser.chat_fixtures  (serves on 127.0.0.1:8765 until Ctrl-C).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus.runtime import Runtime
from nexus.settings import is_injection_name
from tests.runtime_helpers import open_runtime

ROOT = Path(__file__).resolve().parents[2]
OPENCODE_BIN = Path(os.environ.get(
    "NEXUS_TEST_OPENCODE", ROOT / ".cache" / "opencode" / "node_modules" / "opencode-linux-x64" / "bin" / "opencode"))


@dataclass
class ChatNexus:
    url: str
    runtime: Runtime
    server: Any
    fake_llm: Any


def _rg_dir() -> str | None:
    rg = shutil.which("rg") or (str(Path(sys.executable).parent / "rg")
                                if (Path(sys.executable).parent / "rg").exists() else None)
    return str(Path(rg).parent) if rg else None


@contextlib.contextmanager
def module_chat_nexus(base_dir: Path, opencode: bool = True, **env: str) -> Iterator[ChatNexus]:
    """chat_nexus for a module-wide pytest fixture: it does what tests/conftest.py's autouse
    fixtures do per test (its own NEXUS_HOME, no real keyring), with `env` set on top."""
    import pytest

    if opencode and not OPENCODE_BIN.exists():
        pytest.fail(f"The real OpenCode binary is missing at {OPENCODE_BIN}: run scripts/install-opencode.sh")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEXUS_HOME", str(base_dir / "home"))
        mp.delenv("NEXUS_DATABASE_URL", raising=False)
        mp.setattr("nexus.secrets.store.keyring_usable", lambda backend=None: backend is not None)
        for name, value in env.items():
            mp.setenv(name, value)
        with chat_nexus(base_dir, opencode=opencode) as nx:
            yield nx


@contextlib.contextmanager
def chat_nexus(base_dir: Path, port: int = 0, opencode: bool = True) -> Iterator[ChatNexus]:
    from nexus.server import ServerState
    from nexus.ui import create_app
    from nexus.ui.http_server import WebServer
    from tests.fakes.fake_llm import FakeLLM, opencode_env

    base_dir.mkdir(parents=True, exist_ok=True)
    with FakeLLM() as fake:
        rt = open_runtime(base_dir / "data")
        if opencode:
            if not OPENCODE_BIN.exists():
                raise RuntimeError(f"The real OpenCode binary is missing at {OPENCODE_BIN}: run "
                                   "scripts/install-opencode.sh")
            env = opencode_env(fake.base_url, str(base_dir / "opencode-state"), _rg_dir())
            env = {k: v for k, v in env.items() if not is_injection_name(k)}  # server.env refuses those
            rt.settings.update({"server.binary": str(OPENCODE_BIN), "server.env": env,
                                "server.workspace": str(base_dir / "workspace"), "server.autostart": True,
                                "restart.initial_delay": 0.2})
        else:
            rt.settings.update({"server.autostart": False})
        rt.start()
        server = None
        try:
            if opencode:
                deadline = time.monotonic() + 40
                while not (rt.supervisor.state == ServerState.RUNNING
                           and rt.chat.engines["opencode"].connected.is_set()):
                    if time.monotonic() > deadline:
                        raise RuntimeError("OpenCode did not come up within 40 s")
                    time.sleep(0.1)
            server = WebServer(create_app(rt), "127.0.0.1", port).start()
            yield ChatNexus(server.url, rt, server, fake)
        finally:
            if server is not None:
                server.stop()
            rt.stop()


def seed_long_session(rt: Runtime, count: int = 2000, title: str = "A long session") -> str:
    """A stored session with `count` messages (alternating user / assistant, some markdown and
    code), written straight to the store as the transcript writer would. No engine involved."""
    import uuid

    session_id = f"s_{uuid.uuid4().hex[:20]}"
    now = time.time() - count * 5
    rt.chat.repo.create_session({"id": session_id, "engine": "opencode", "engine_ref": f"seed-{session_id}",
                                 "title": title, "agent": "build", "model": "fake/fake-model",
                                 "directory": None, "state": "archived", "status": "idle"})
    messages, parts = [], []
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        mid = f"msg_{i:06d}_{session_id[-6:]}"
        if role == "user":
            text = f"Question number {i}: how do I do thing {i}?"
        else:
            text = (f"Answer **{i}**. Here is some code:\n\n```python\ndef f_{i}(x):\n    return x * {i}\n```\n\n"
                    f"- point one\n- point two\n\nThat was message {i}.")
        messages.append({"id": mid, "session_id": session_id, "role": role, "created_at": now + i * 5,
                         "completed_at": now + i * 5 + 1, "agent": "build", "model": "fake/fake-model",
                         "finish": "stop", "error": None,
                         "tokens": {"input": 10, "output": 20, "reasoning": 0, "cache_read": 0, "cache_write": 0},
                         "cost": 0.0})
        parts.append((0, {"id": f"prt_{i:06d}_{session_id[-6:]}", "kind": "text", "text": text,
                          "message_id": mid, "session_id": session_id}))
    rt.chat.repo.save({"id": session_id, "title": title, "state": "archived", "status": "idle",
                       "tokens": {"input": 10 * count, "output": 20 * count}, "cost": 0.0}, count, messages, parts)
    return session_id


if __name__ == "__main__":  # a developer's stack: python -m tests.browser.chat_fixtures [port]
    import tempfile

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    with chat_nexus(Path(tempfile.mkdtemp(prefix="nexus-chat-dev-")), port=port) as nx:
        print(f"Nexus with OpenCode at {nx.url}", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
