"""A read-only data folder or a full disk: a clear message at start, a clear 507 from the
API, one log line from the transcript writer (not a traceback every half second), and
nothing lost once space returns. Real filesystems: small tmpfs mounts (needs root; skipped
where mounting is not allowed)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus.chat import events as ev


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def _serve(home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NEXUS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "nexus", "serve", "--port", "0"], env=env, capture_output=True,
                          text=True, timeout=60)


def test_a_read_only_data_folder_is_a_clear_message(small_disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    done = _serve(small_disk / "home")
    assert done.returncode == 2  # the CLI's "cannot start" code
    assert "Traceback" not in done.stderr + done.stdout
    assert "cannot write to its data folder" in done.stderr and "NEXUS_HOME" in done.stderr, done.stderr


def test_a_full_disk_at_start_is_a_clear_message(small_disk: Path) -> None:
    (small_disk / "home").mkdir()
    _fill(small_disk)
    done = _serve(small_disk / "home")
    assert done.returncode == 2  # the CLI's "cannot start" code
    assert "Traceback" not in done.stderr + done.stdout
    assert "full" in done.stderr, done.stderr


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def clear(self) -> None:
        self.records.clear()


@pytest.fixture
def nexus_log() -> Iterator[_Records]:
    """Nexus's own log records (its logger writes to its file, not to pytest's capture)."""
    handler = _Records()
    logger = logging.getLogger("nexus")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_a_full_disk_while_running(small_disk: Path, nexus_log: _Records, make_runtime) -> None:
    from nexus.ui import create_app

    rt = make_runtime(data_dir=small_disk / "home")
    try:
        sid = f"s_{uuid.uuid4().hex[:20]}"
        rt.chat.repo.create_session({"id": sid, "engine": "opencode", "engine_ref": "ses_x", "title": "full",
                                     "state": "active", "status": "idle"})
        client = create_app(rt).test_client()
        client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
        csrf = client.get("/api/auth/session").get_json()["csrf_token"]
        filler = _fill(small_disk)

        rt.chat.emit(sid, ev.MESSAGE_START, {"message": {"id": "msg_1", "role": "assistant", "created_at": 1.0}})
        rt.chat.emit(sid, ev.PART_UPDATE, {"message_id": "msg_1", "part": {"id": "prt_1", "kind": "text",
                                                                            "text": ""}})
        nexus_log.clear()
        for i in range(20):  # ten seconds of the writer's half-second rounds
            rt.chat.emit(sid, ev.TEXT_DELTA, {"message_id": "msg_1", "part_id": "prt_1", "delta": f"w{i} "})
            rt.chat.writer.flush_all()
        rt.chat.emit(sid, ev.MESSAGE_END, {"message_id": "msg_1", "finish": "stop", "completed_at": 2.0})
        rt.chat.writer.flush_all()
        answer = client.patch(f"/api/sessions/{sid}", json={"title": "renamed"},
                              headers={"X-CSRF-Token": csrf})
        assert rt.chat.writer.storage_problem is not None, "the disk really was full"
        writer_lines = [r for r in nexus_log.records if r.name == "nexus.chat.writer"]
        assert len(writer_lines) == 1 and writer_lines[0].exc_info is None, writer_lines
        assert not [r for r in nexus_log.records if r.exc_info], "no tracebacks"
        assert answer.status_code == 507, answer.get_data(as_text=True)
        assert answer.get_json()["error"]["code"] == "disk_full"
        assert "full" in answer.get_json()["error"]["message"]

        filler.unlink()  # space returns
        rt.chat.writer.flush_all()
        assert rt.chat.writer.storage_problem is None
        stored = rt.chat.repo.load_messages(sid)[0]
        assert [p["text"] for m in stored for p in m["parts"]] == ["".join(f"w{i} " for i in range(20))]
        assert stored[0]["completed_at"] == 2.0, "nothing streamed while the disk was full was lost"
    finally:
        rt.stop()
