"""Chaos: kill OpenCode and Nexus mid-reply, drop live streams, soak; count what breaks.

    .venv/bin/python bench/chaos.py                      # the full run (~20 min): writes "chaos" in results.json
    .venv/bin/python bench/chaos.py --opencode-kills 3 --drops 10 --nexus-kills 1 --soak 60 --no-save

Everything is real: `nexus serve` as a child process on a fresh data dir, the real OpenCode
binary it supervises, the project's fake model provider (tests/fakes/fake_llm.py), real
WebSocket / SSE / HTTP clients on 127.0.0.1. Phases:

  * OpenCode kills: N times, a reply streams (fake "SLOW": 200 words over 20 s), OpenCode gets
    kill -9 after its first words. Measured: time until OpenCode runs again; whether the cut
    reply was closed (finish "interrupted") or left open; finished messages lost.
  * Stream drops: a long reply ("BURST:<n>:<ms>") followed over the WebSocket, then over the
    SSE fallback; the client drops the connection after a random 20-150 events and resumes
    with its last number, D times each. Measured: gaps, duplicates, resyncs by snapshot, and
    whether the text it assembled equals the stored reply.
  * Nexus kills: N times, Nexus gets kill -9 mid-reply and is started again. Measured:
    OpenCode adopted (same pid), the reply continued to its real end, or was closed.
  * Soak: 10 sessions stream replies back to back for --soak seconds, each followed by one of
    3 kinds of client (WebSocket, SSE, HTTP polling of /messages); Nexus's RSS, threads and
    open files are sampled every --sample seconds. Measured: the slope of RSS and threads
    over the second half (per minute), and threads once the clients have gone vs. before.
  * Orphans: after Nexus is stopped, every OpenCode pid seen must be gone.

Targets (issue 13): 0 lost, 0 gaps, 0 duplicates, 0 replies left open, 0 orphans, RSS slope
<= 0.5 MB/min in the soak's second half, threads back to idle after clients leave.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
import psutil  # noqa: E402
import simple_websocket  # noqa: E402

from nexus import websocket_client  # noqa: E402
from nexus.settings import is_injection_name  # noqa: E402
from tests.fakes.fake_llm import FakeLLM, opencode_env  # noqa: E402

OPENCODE = Path(os.environ.get("NEXUS_TEST_OPENCODE", ROOT / ".cache" / "opencode" / "node_modules"
                               / "opencode-linux-x64" / "bin" / "opencode"))
TARGETS = {"messages_lost": 0, "gaps": 0, "duplicates": 0, "replies_left_open": 0, "orphans": 0,
           "rss_slope_mb_per_min": 0.5}


def say(*args: Any) -> None:
    print(*args, flush=True)


# ----- one Nexus ------------------------------------------------------------------------------


class Nexus:
    """`nexus serve` on `home`; started, killed and restarted by pid only."""

    def __init__(self, home: Path, trace_memory: bool = False) -> None:
        self.home = home
        # NEXUS_DEBUG_DUMP: SIGUSR2 makes Nexus write its thread names (and, with tracing, a
        # tracemalloc snapshot) there; see nexus/debug_memory.py.
        self.dumps = home.parent / "dumps"
        self.env = {**os.environ, "NEXUS_HOME": str(home), "PYTHONUNBUFFERED": "1",
                    "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                    "NEXUS_DEBUG_DUMP": str(self.dumps)}
        if trace_memory:
            self.env["NEXUS_DEBUG_TRACEMALLOC"] = "1"
        self.trace_memory = trace_memory
        self._dumped = 0
        self.memory: dict[str, Any] = {}
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.http: httpx2.Client | None = None
        self.opencode_pids: set[int] = set()

    def configure(self, settings: dict[str, Any]) -> None:
        for key, value in settings.items():
            done = subprocess.run([sys.executable, "-m", "nexus", "settings", "set", key,
                                   value if isinstance(value, str) else json.dumps(value)],
                                  env=self.env, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"nexus settings set {key}: {done.stdout}{done.stderr}")
        from nexus.auth.passwords import HashParams, hash_password
        from nexus.auth.repository import AuthRepository
        from nexus.store import Database
        from nexus.store.database import sqlite_url

        # As a person who finished setup: an owner (a random password nobody needs: sign-in on
        # this computer is off, so the bench's local clients need none) and the wizard done.
        db = Database.open(sqlite_url(self.home / "nexus.db"))
        params = HashParams(time_cost=1, memory_kib=8192, parallelism=1)
        AuthRepository(db).save_owner("chaos", hash_password(os.urandom(16).hex(), params), params.to_json())
        AuthRepository(db).save_setup_progress("done", 1.0)
        db.close()

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "nexus", "serve", "--port", "0"], env=self.env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            match = re.search(r"running at (http://\S+)", line)
            if match:
                self.url = match.group(1)
                break
            if not line and self.proc.poll() is not None:
                raise RuntimeError("nexus exited at start")
        else:
            raise RuntimeError("nexus did not start")
        # Its console goes on being read, so that a full pipe never blocks it.
        threading.Thread(target=lambda out: [None for _ in out], args=(self.proc.stdout,), daemon=True,
                         name="bench-nexus-console").start()
        self.http = _client(self.url)
        self.http.headers["X-CSRF-Token"] = self.http.get("/api/auth/session").json()["csrf_token"]

    def server(self) -> dict[str, Any]:
        assert self.http is not None
        return self.http.get("/api/server").json()

    def wait_running(self, not_pid: int | None = None, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status = self.server()
            except httpx2.HTTPError:
                status = {}
            if status.get("state") == "running" and status.get("pid") not in (None, not_pid):
                self.opencode_pids.add(status["pid"])
                return status
            time.sleep(0.1)
        raise RuntimeError(f"OpenCode did not come up: {status}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        if self.http is not None:
            self.http.close()
        self.proc, self.http = None, None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        if self.http is not None:
            self.http.close()
        self.proc, self.http = None, None
        return code

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def dump(self, timeout: float = 120) -> tuple[list[str], Path | None]:
        """Nexus's live thread names, and the path of a tracemalloc snapshot if tracing. Where
        its memory is (nexus/debug_memory.py `native_memory`) is kept in `self.memory`."""
        assert self.proc is not None
        self.dumps.mkdir(exist_ok=True)
        for old in self.dumps.glob("threads-*.json"):  # numbering starts again with each Nexus
            old.unlink()
        self.proc.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            written = list(self.dumps.glob("threads-*.json"))  # written last, after the snapshot
            if written:
                n = written[0].stem.split("-")[1]
                names = json.loads(written[0].read_text())
                memory = self.dumps / f"memory-{n}.json"  # written before the names
                self.memory = json.loads(memory.read_text()) if memory.exists() else {}
                snapshot = self.dumps / f"snapshot-{n}.pickle"
                if not snapshot.exists():
                    return names, None
                self._dumped += 1
                kept = self.dumps / f"taken-{self._dumped}.pickle"
                snapshot.rename(kept)
                return names, kept
            time.sleep(0.1)
        raise RuntimeError("Nexus wrote no dump (SIGUSR2)")


def _client(url: str, like: httpx2.Client | None = None) -> httpx2.Client:
    """A client of Nexus; with `like`, one that carries on its sign-in (cookies, CSRF header)."""
    return httpx2.Client(base_url=url, timeout=30, trust_env=False, headers=like.headers if like else None,
                         cookies=like.cookies if like else None)


# ----- sessions and replies -------------------------------------------------------------------


def new_session(nx: Nexus, title: str) -> str:
    assert nx.http is not None
    for session in nx.http.get("/api/sessions").json().get("sessions", []):
        if session.get("status") == "idle":  # ten active at most: make room
            nx.http.patch(f"/api/sessions/{session['id']}", json={"state": "archived"})
    answer = nx.http.post("/api/sessions", json={"title": title})
    answer.raise_for_status()
    return answer.json()["id"]


def messages(nx: Nexus, sid: str) -> list[dict[str, Any]]:
    assert nx.http is not None
    return nx.http.get(f"/api/sessions/{sid}/messages", params={"limit": 500}).json()["messages"]


def text(message: dict[str, Any]) -> str:
    return "".join(p.get("text") or "" for p in message["parts"] if p["kind"] == "text")


def finished(msgs: list[dict[str, Any]]) -> dict[str, str]:
    """Finished assistant replies (not cut off) by id, with their text."""
    return {m["id"]: text(m) for m in msgs if m["role"] == "assistant" and m.get("completed_at")
            and m.get("finish") != "interrupted"}


def prompt(nx: Nexus, sid: str, words: str) -> None:
    assert nx.http is not None
    deadline = time.monotonic() + 60
    while True:
        answer = nx.http.post(f"/api/sessions/{sid}/prompt", json={"text": words})
        if answer.status_code == 202:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"prompt refused: {answer.status_code} {answer.text}")
        time.sleep(0.3)  # busy (the last reply is still closing) or OpenCode not back yet


def wait_streaming(nx: Nexus, sid: str, min_chars: int = 20, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msgs = messages(nx, sid)
        if msgs and msgs[-1]["role"] == "assistant" and not msgs[-1].get("completed_at") \
                and len(text(msgs[-1])) >= min_chars:
            return msgs[-1]
        time.sleep(0.15)
    raise RuntimeError("the reply did not start streaming")


def wait_closed(nx: Nexus, sid: str, message_id: str, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = next((m for m in messages(nx, sid) if m["id"] == message_id), None)
        except httpx2.HTTPError:
            found = None
        if found is not None and found.get("completed_at"):
            return found
        time.sleep(0.2)
    return None


def wait_idle(nx: Nexus, sid: str, timeout: float = 60) -> None:
    assert nx.http is not None
    deadline = time.monotonic() + timeout
    while nx.http.get(f"/api/sessions/{sid}").json().get("status") != "idle" and time.monotonic() < deadline:
        time.sleep(0.2)


# ----- phases ---------------------------------------------------------------------------------


def opencode_kills(nx: Nexus, count: int) -> dict[str, Any]:
    sid = new_session(nx, "chaos: OpenCode kills")
    healthy_after: list[float] = []
    closed = left_open = lost = 0
    for i in range(count):
        wait_idle(nx, sid)
        before = finished(messages(nx, sid))
        prompt(nx, sid, "SLOW")
        reply = wait_streaming(nx, sid)
        pid = nx.wait_running()["pid"]
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        nx.wait_running(not_pid=pid)
        healthy_after.append(time.monotonic() - killed_at)
        end = wait_closed(nx, sid, reply["id"], timeout=30)
        if end is not None and end.get("finish") == "interrupted":
            closed += 1
        else:
            left_open += 1
        after = finished(messages(nx, sid))
        lost += sum(1 for mid, words in before.items() if after.get(mid) != words)
        say(f"  OpenCode kill {i + 1}/{count}: healthy again after {healthy_after[-1]:.2f} s, "
            f"reply {'closed' if end else 'LEFT OPEN'}")
    return {"kills": count, "restarts": count, "time_to_healthy_s": _spread(healthy_after),
            "replies_interrupted": count, "replies_closed": closed, "replies_left_open": left_open,
            "messages_lost": lost}


def _ws_events(nx: Nexus, sid: str, after: int | None, epoch: str | None) -> Iterator[dict[str, Any]]:
    ws = websocket_client.connect(nx.url.replace("http://", "ws://") + "/api/chat/stream")
    try:
        raw = ws.receive(timeout=30)
        if raw is None:
            raise TimeoutError("no hello within 30 s")
        yield json.loads(raw)
        ws.send(json.dumps({"op": "follow", "session": sid, "after": after, "epoch": epoch}))
        while True:
            raw = ws.receive(timeout=15)
            if raw is None:
                return
            data = json.loads(raw)
            yield from (data if isinstance(data, list) else [data])
    finally:
        try:
            ws.close()
        except Exception:
            pass


def _sse_events(nx: Nexus, sid: str, after: int | None, epoch: str | None) -> Iterator[dict[str, Any]]:
    follow = f"{sid}:{epoch or ''}:{'' if after is None else after}"
    with httpx2.stream("GET", f"{nx.url}/api/chat/stream/sse", params={"follow": follow}, timeout=30,
                       trust_env=False) as res:
        for line in res.iter_lines():
            if line.startswith("data:"):
                data = json.loads(line[5:])
                yield from (data if isinstance(data, list) else [data])


def _snapshot_done(event: dict[str, Any]) -> bool:
    """A resync snapshot whose newest message is a finished reply (its end was in the snapshot)."""
    msgs = event["data"].get("messages") or []
    return bool(msgs) and msgs[-1].get("role") == "assistant" and bool(msgs[-1].get("completed_at"))


def _until(events: Iterator[dict[str, Any]], budget: int, sid: str, streamed: set[str]) -> Iterator[dict[str, Any]]:
    """The events of one connection, up to `budget` numbered ones of `sid` or the end of a
    streamed reply (`streamed`: ids of messages text arrived for); then the connection is
    dropped (the generator is closed)."""
    counted = 0
    try:
        for event in events:
            yield event
            if event.get("type") == "snapshot" and event.get("session") == sid and _snapshot_done(event):
                return
            if event.get("session") != sid or "seq" not in event or event.get("type") == "snapshot":
                continue
            counted += 1
            data = event.get("data") or {}
            if event["type"] == "text.delta":
                streamed.add(data["message_id"])
            elif event["type"] == "message.start" and data["message"].get("role") == "assistant":
                streamed.add(data["message"]["id"])  # a reply whose text comes whole (no deltas) ends too
            if counted >= budget or (event["type"] == "message.end" and data.get("message_id") in streamed):
                return
    finally:
        events.close()  # type: ignore[attr-defined]


def stream_drops(nx: Nexus, transport: str, drops: int, burst: str) -> dict[str, Any]:
    sids: list[str] = []
    events = _ws_events if transport == "websocket" else _sse_events
    gaps = duplicates = snapshots = done_drops = replies = reconnects = silences = deltas = 0
    mismatched = 0
    last: int | None = None
    epoch: str | None = None
    assembled: dict[str, str] = {}
    streamed: set[str] = set()
    rng = random.Random(13)
    while done_drops < drops:
        # Each reply in a session of its own: in one session every prompt carries the whole
        # conversation (79 kB per 10k-event reply), and OpenCode slowed down with it until 100
        # drops took more than 20 minutes at load 14-20. Followed from its start (no resync).
        sid = new_session(nx, f"chaos: {transport} drops {replies + 1}")
        sids.append(sid)
        last = None
        prompt(nx, sid, burst)
        replies += 1
        ended = False
        while not ended:
            budget = rng.randint(20, 150)
            got = 0
            try:
                stream = list(_until(events(nx, sid, last, epoch), budget, sid, streamed))
            except (TimeoutError, OSError, httpx2.HTTPError, simple_websocket.ConnectionClosed) as exc:
                say(f"    reconnecting after {type(exc).__name__} (not counted as a drop)")
                reconnects += 1
                continue
            for event in stream:
                kind = event.get("type")
                if kind == "hello":
                    epoch = event.get("epoch")
                    continue
                if event.get("session") != sid or "seq" not in event:
                    continue
                seq = event["seq"]
                if kind == "snapshot":
                    # After the first connect (which starts from one), a snapshot is a resync:
                    # the transcript whole, numbered with its last event.
                    snapshots += last is not None
                    for m in event["data"]["messages"]:
                        assembled[m["id"]] = text(m)
                    ended = ended or (snapshots > 0 and _snapshot_done(event))
                    last = seq
                    if ended:
                        break
                    continue
                # A merged delta covers from_seq..seq (the relay sends one frame per flush).
                first = event.get("from_seq", seq)
                if last is not None and first <= last:
                    duplicates += 1
                    continue
                if last is not None and first != last + 1:
                    gaps += 1
                last = seq
                got += 1
                data = event["data"]
                if kind == "text.delta":
                    deltas += 1
                    assembled[data["message_id"]] = assembled.get(data["message_id"], "") + data["delta"]
                elif kind == "part.update" and data["part"]["kind"] == "text":
                    assembled[data["message_id"]] = data["part"].get("text") or ""
                elif kind == "message.end":
                    ended = ended or data["message_id"] in streamed
                if ended or got >= budget:
                    break
            if not ended and got >= budget:
                done_drops += 1  # the client cut it mid-reply
            elif not ended:
                silences += 1  # the server went quiet first: not a drop (and not counted as one)
            if done_drops >= drops:
                break
        wait_idle(nx, sid)
        if replies >= 3 and deltas == 0:
            say(f"  {transport}: {replies} replies came whole, without text deltas: nothing to drop in; phase stopped")
            break
    stored = {m["id"]: text(m) for sid in sids for m in messages(nx, sid) if m["role"] == "assistant"}
    for mid, words in assembled.items():
        if mid in stored and stored[mid] and not stored[mid].startswith(words):
            mismatched += 1
    say(f"  {transport}: {done_drops} drops over {replies} replies ({deltas} text deltas), {gaps} gaps, "
        f"{duplicates} duplicates, {snapshots} resyncs by snapshot, {mismatched} texts differing from the store, "
        f"{silences} connections ended by silence")
    return {"drops": done_drops, "replies": replies, "text_deltas": deltas, "connections_ended_by_silence": silences,
            "gaps": gaps, "duplicates": duplicates,
            "resyncs_by_snapshot": snapshots, "texts_differing": mismatched,
            "unplanned_reconnects": reconnects}


def nexus_kills(nx: Nexus, count: int) -> dict[str, Any]:
    sid = new_session(nx, "chaos: Nexus kills")
    adopted = continued = closed = left_open = lost = 0
    back: list[float] = []
    for i in range(count):
        wait_idle(nx, sid)
        before = finished(messages(nx, sid))
        prompt(nx, sid, "SLOW")
        reply = wait_streaming(nx, sid)
        opencode = nx.wait_running()["pid"]
        nx.kill9()
        killed = time.monotonic()
        nx.start()
        status = nx.wait_running()
        back.append(time.monotonic() - killed)
        adopted += status["pid"] == opencode
        end = wait_closed(nx, sid, reply["id"], timeout=60)
        if end is None:
            left_open += 1
        elif end.get("finish") == "interrupted":
            closed += 1
        else:
            continued += "word199" in text(end)
        after = finished(messages(nx, sid))
        lost += sum(1 for mid, words in before.items() if after.get(mid) != words)
        say(f"  Nexus kill {i + 1}/{count}: running again after {back[-1]:.2f} s, OpenCode "
            f"{'adopted' if status['pid'] == opencode else 'replaced'}, reply "
            f"{'left OPEN' if end is None else end.get('finish')}")
    return {"kills": count, "time_to_healthy_s": _spread(back), "opencode_adopted": adopted,
            "replies_continued_to_the_end": continued, "replies_closed_as_interrupted": closed,
            "replies_left_open": left_open, "messages_lost": lost}


def _sample(pid: int) -> dict[str, float]:
    proc = psutil.Process(pid)
    with proc.oneshot():
        return {"t": time.monotonic(), "rss_mb": proc.memory_info().rss / 1e6, "threads": proc.num_threads(),
                "open_files": proc.num_fds()}


def _slope(samples: list[dict[str, float]], key: str) -> float | None:
    half = samples[len(samples) // 2:]
    if len(half) < 3:
        return None
    xs = [(s["t"] - half[0]["t"]) / 60 for s in half]
    ys = [s[key] for s in half]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den, 3) if den else None


def _connections(nx: Nexus) -> int:
    """Open TCP connections to Nexus's own port (clients still there, or not yet let go)."""
    return sum(1 for c in psutil.Process(nx.pid).net_connections(kind="tcp")
               if c.laddr and c.laddr.port == nx.port and c.status not in (psutil.CONN_LISTEN, psutil.CONN_TIME_WAIT))


def _quiet(nx: Nexus, sids: list[str], timeout: float = 120) -> tuple[dict[str, float], float]:
    """The first sample at a quiet moment: every session idle, no client connected to Nexus but
    the bench's own one, and the thread count unchanged over 3 samples a second apart. Returns
    the sample and the seconds waited; after `timeout`, the last sample (the quiet never came)."""
    began = time.monotonic()
    for sid in sids:
        wait_idle(nx, sid, timeout=timeout)
    assert nx.http is not None
    old = nx.http
    nx.http = _client(nx.url, old)
    old.close()  # its keep-alive connection would count as a client
    steady: list[int] = []
    while True:
        sample = _sample(nx.pid)
        steady = [*steady, int(sample["threads"])][-3:] if _connections(nx) == 0 else []
        if (len(steady) == 3 and len(set(steady)) == 1) or time.monotonic() - began > timeout:
            return sample, time.monotonic() - began
        time.sleep(1)


def _top_growth(first: Path, last: Path, count: int = 15) -> list[str]:
    """Where traced memory grew between two tracemalloc snapshots, biggest first."""
    import tracemalloc

    older, newer = tracemalloc.Snapshot.load(str(first)), tracemalloc.Snapshot.load(str(last))
    drop = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    older, newer = older.filter_traces(drop), newer.filter_traces(drop)
    lines = [f"traced total {sum(s.size for s in older.statistics('filename')) / 1e6:.2f} -> "
             f"{sum(s.size for s in newer.statistics('filename')) / 1e6:.2f} MB"]
    for stat in newer.compare_to(older, "traceback")[:count]:
        newest_first = list(reversed(stat.traceback))  # the line that allocated, then its callers in Nexus
        frames = [newest_first[0]] + [f for f in newest_first[1:] if f.filename.startswith(str(ROOT / "nexus"))]
        where = [f"{f.filename.replace(str(ROOT) + '/', '').rsplit('site-packages/', 1)[-1]}:{f.lineno}"
                 for f in frames]
        lines.append(f"{stat.size_diff / 1e3:+9.1f} kB {stat.count_diff:+7d} blocks  " + " < ".join(where[:6]))
    # Growth spread thinly over many call paths adds up per file: the same, by allocating file.
    lines.append("by file:")
    for stat in newer.compare_to(older, "filename")[:count]:
        name = stat.traceback[0].filename.replace(str(ROOT) + "/", "").rsplit("site-packages/", 1)[-1]
        lines.append(f"{stat.size_diff / 1e3:+9.1f} kB {stat.count_diff:+7d} blocks  {name}")
    return lines


def _native_growth(first: dict[str, Any], last: dict[str, Any]) -> dict[str, float]:
    """What grew between two of Nexus's memory reports (nexus/debug_memory.py), in MB: the
    resident heap and anonymous mappings, glibc's arenas (held from the OS, and free inside),
    SQLite's own allocations (its prepared statements apart), pymalloc's live small objects."""
    def figures(report: dict[str, Any]) -> dict[str, float]:
        smaps, glibc = report.get("smaps_kib", {}), report.get("glibc", {})
        sqlite, pymalloc = report.get("sqlite", {}), report.get("pymalloc", {})
        arenas = glibc.get("arenas") or []
        return {"heap_rss": smaps.get("[heap]", 0) / 1e3, "anon_rss": (smaps.get("[anon>=1M]", 0)
                                                                       + smaps.get("[anon<1M]", 0)) / 1e3,
                "glibc_arenas": sum(a["system"] for a in arenas) / 1e6,
                "glibc_free": sum(a["free"] for a in arenas) / 1e6,
                "sqlite": sqlite.get("memory_used", 0) / 1e6,
                "sqlite_statements": sum(c["statements"] for c in sqlite.get("connections") or []) / 1e6,
                "pymalloc_live": pymalloc.get("bytes_in_allocated_blocks", 0) / 1e6,
                **{f"glibc_free_{size}": sum((a.get("free_by_size") or {}).get(size, 0) for a in arenas) / 1e6
                   for size in ("<1k", "1k-4k", "4k-8k", "8k-64k", ">=64k")}}
    before, after = figures(first), figures(last)
    return {key: round(after[key] - before[key], 2) for key in before}


def soak(nx: Nexus, seconds: float, sessions: int, every: float, burst: str) -> dict[str, Any]:
    idle, _ = _quiet(nx, [])
    idle_threads, _ = nx.dump()
    stop = threading.Event()
    errors: list[str] = []
    sids = [new_session(nx, f"chaos: soak {i}") for i in range(sessions)]
    received = [0]

    def driver(sid: str) -> None:  # replies back to back
        while not stop.is_set():
            try:
                wait_idle(nx, sid)
                if not stop.is_set():
                    prompt(nx, sid, burst)
                    time.sleep(0.5)
            except Exception as exc:
                errors.append(f"driver: {exc}")
                time.sleep(1)

    def watcher(sid: str, kind: str) -> None:
        last: int | None = None
        epoch: str | None = None
        while not stop.is_set():
            try:
                if kind == "poll":
                    messages(nx, sid)
                    received[0] += 1
                    time.sleep(1.0)
                    continue
                source = _ws_events if kind == "websocket" else _sse_events
                for event in source(nx, sid, last, epoch):
                    if event.get("type") == "hello":
                        epoch = event.get("epoch")
                    elif "seq" in event:
                        last = event["seq"]
                        received[0] += 1
                    if stop.is_set():
                        break
            except Exception as exc:
                if not stop.is_set():
                    errors.append(f"{kind}: {type(exc).__name__}")

    kinds = ("websocket", "sse", "poll")
    threads = [threading.Thread(target=driver, args=(sid,), name=f"bench-driver-{i}", daemon=True)
               for i, sid in enumerate(sids)]
    threads += [threading.Thread(target=watcher, args=(sid, kinds[i % 3]), name=f"bench-watch-{i}", daemon=True)
                for i, sid in enumerate(sids)]
    for thread in threads:
        thread.start()
    samples = [_sample(nx.pid)]
    began = time.monotonic()
    deadline = began + seconds
    snapshots: list[Path] = []
    memory: list[dict[str, Any]] = []  # where Nexus's memory is as the second half starts, and at its end
    while time.monotonic() < deadline:
        time.sleep(min(every, max(0.0, deadline - time.monotonic())))
        if not memory and time.monotonic() - began >= seconds / 2:
            snapshot = nx.dump()[1]  # the second half starts
            memory.append(nx.memory)
            if snapshot is not None:
                snapshots.append(snapshot)
        samples.append(_sample(nx.pid))
    snapshot = nx.dump()[1]
    memory.append(nx.memory)
    if snapshot is not None:
        snapshots.append(snapshot)
    stop.set()
    for thread in threads:
        thread.join(60)
    # Threads and RSS once the clients have gone, sampled at the first quiet moment.
    after, waited = _quiet(nx, sids)
    after_threads, _ = nx.dump()
    result = {"seconds": seconds, "sessions": sessions, "clients": {k: sessions // 3 + (i < sessions % 3)
                                                                     for i, k in enumerate(kinds)},
              "events_received": received[0], "client_errors": len(errors), "samples": len(samples),
              "rss_mb": {"idle": round(idle["rss_mb"], 1), "start": round(samples[0]["rss_mb"], 1),
                         "end": round(samples[-1]["rss_mb"], 1), "after_clients_left": round(after["rss_mb"], 1)},
              "threads": {"idle": idle["threads"], "peak": max(s["threads"] for s in samples),
                          "after_clients_left": after["threads"], "quiet_after_s": round(waited, 1),
                          "new_after_clients_left": _difference(after_threads, idle_threads),
                          "gone_after_clients_left": _difference(idle_threads, after_threads)},
              "open_files": {"idle": idle["open_files"], "peak": max(s["open_files"] for s in samples),
                             "after_clients_left": after["open_files"]},
              "rss_slope_mb_per_min_second_half": _slope(samples, "rss_mb"),
              # The curve itself: a bound still being reached and a leak differ in shape.
              "rss_mb_series": [round(s["rss_mb"], 1) for s in samples],
              "open_files_series": [s["open_files"] for s in samples],
              "thread_slope_per_min_second_half": _slope(samples, "threads")}
    slope = result["rss_slope_mb_per_min_second_half"]
    say(f"  soak: {seconds:.0f} s, {sessions} sessions, {received[0]} events/polls, {len(errors)} client errors; "
        f"RSS {result['rss_mb']}; threads {result['threads']}; open files {result['open_files']}")
    say(f"  RSS slope over the second half: {slope} MB/min (target <= {TARGETS['rss_slope_mb_per_min']}: "
        f"{'met' if slope is not None and slope <= TARGETS['rss_slope_mb_per_min'] else 'MISSED'}); threads "
        f"{'back to idle' if after['threads'] <= idle['threads'] else 'NOT back to idle'} "
        f"({idle['threads']} idle, {after['threads']} after, quiet after {waited:.1f} s)")
    if len(memory) == 2:
        result["native_growth_second_half_mb"] = _native_growth(*memory)
        say(f"  where RSS went over the second half (MB): {result['native_growth_second_half_mb']}")
    if len(snapshots) == 2:
        result["traced_growth_second_half"] = _top_growth(*snapshots)
        say("  traced allocations, growth over the second half:")
        for line in result["traced_growth_second_half"]:
            say("    " + line)
    return result


def _difference(names: list[str], others: list[str]) -> list[str]:
    """`names` less `others`, counting repeats (two threads can share a name)."""
    left = list(others)
    extra = []
    for name in names:
        if name in left:
            left.remove(name)
        else:
            extra.append(name)
    return extra


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2)}


def orphans(pids: set[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


# ----- the run --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--opencode-kills", type=int, default=20)
    parser.add_argument("--drops", type=int, default=100, help="WebSocket drops, and as many SSE drops")
    parser.add_argument("--burst", default="BURST:10000:1", help="the long reply the drops happen in")
    parser.add_argument("--nexus-kills", type=int, default=5)
    parser.add_argument("--soak", type=float, default=600.0, help="soak duration in seconds (0 skips it)")
    parser.add_argument("--soak-sessions", type=int, default=10)
    parser.add_argument("--soak-burst", default="BURST:2000:5")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between soak samples")
    parser.add_argument("--no-save", action="store_true", help="print only; leave bench/results.json alone")
    parser.add_argument("--trace-memory", action="store_true",
                        help="run Nexus with tracemalloc and print where memory grew in the soak's second half "
                             "(slows Nexus and adds to its RSS: figures of such a run are not the real ones)")
    args = parser.parse_args(argv)
    # A SIGTERM (a timeout, an impatient Ctrl+C elsewhere) unwinds like an error: the finally
    # below stops Nexus and OpenCode instead of leaving them running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not OPENCODE.exists():
        say(f"the OpenCode binary is missing at {OPENCODE}: run scripts/install-opencode.sh")
        return 2

    work = Path(tempfile.mkdtemp(prefix="nexus-chaos-"))
    fake = FakeLLM().start()
    nx = Nexus(work / "home", trace_memory=args.trace_memory)
    result: dict[str, Any] = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
                              "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
                              "counts": vars(args), "targets": TARGETS}
    began = time.monotonic()
    try:
        rg = shutil.which("rg") or (str(Path(sys.executable).parent / "rg")
                                    if (Path(sys.executable).parent / "rg").exists() else None)
        env = opencode_env(fake.base_url, str(work / "opencode-state"), str(Path(rg).parent) if rg else None)
        env = {k: v for k, v in env.items() if not is_injection_name(k)}  # server.env refuses these (SHELL...)
        nx.configure({"security.require_login_locally": False, "server.binary": str(OPENCODE), "server.env": env, "server.workspace": str(work / "workspace"),
                      "restart.initial_delay": 0.2, "restart.max_attempts": 1000, "restart.reset_after": 1.0})
        nx.start()
        nx.wait_running()
        say(f"Nexus at {nx.url}; OpenCode pid {next(iter(nx.opencode_pids))}")
        phases = [("opencode_kills", args.opencode_kills, f"OpenCode kill -9 mid-reply x{args.opencode_kills}",
                   lambda: opencode_kills(nx, args.opencode_kills)),
                  ("websocket_drops", args.drops, f"WebSocket drops during {args.burst} x{args.drops}",
                   lambda: stream_drops(nx, "websocket", args.drops, args.burst)),
                  ("sse_drops", args.drops, f"SSE drops during {args.burst} x{args.drops}",
                   lambda: stream_drops(nx, "sse", args.drops, args.burst)),
                  ("nexus_kills", args.nexus_kills, f"Nexus kill -9 mid-reply x{args.nexus_kills}",
                   lambda: nexus_kills(nx, args.nexus_kills)),
                  ("soak", args.soak > 0, f"soak {args.soak:.0f} s, {args.soak_sessions} sessions",
                   lambda: soak(nx, args.soak, args.soak_sessions, args.sample, args.soak_burst))]
        for key, wanted, title, run in phases:
            if not wanted:
                continue
            say(title)
            try:
                result[key] = run()
            except Exception as exc:
                say(f"  FAILED: {type(exc).__name__}: {exc}")
                result[key] = {"failed": f"{type(exc).__name__}: {exc}"}
                if nx.proc is None:  # killed mid-phase: the next phases need a Nexus
                    nx.start()
                nx.wait_running()
    finally:
        code = nx.stop()
        result["nexus_exit_code_on_sigterm"] = code
        left = orphans(nx.opencode_pids)
        result["orphan_processes"] = len(left)
        for pid in left:  # never leave one behind, whatever the count says
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        fake.stop()
        keep = os.environ.get("NEXUS_CHAOS_KEEP")  # a folder: Nexus's data dir and dumps are copied there
        for name in ("home", "dumps") if keep else ():
            if (work / name).exists():
                shutil.copytree(work / name, Path(keep) / name, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    result["seconds"] = round(time.monotonic() - began, 1)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    say(json.dumps({k: v for k, v in result.items() if k not in ("counts", "targets")}, indent=2))
    if not args.no_save:
        path = ROOT / "bench" / "results.json"
        existing = json.loads(path.read_text()) if path.exists() else {}
        existing["chaos"] = result
        path.write_text(json.dumps(existing, indent=2) + "\n")
        say(f"saved to {path} under \"chaos\"")
    return 0


if __name__ == "__main__":
    sys.exit(main())
