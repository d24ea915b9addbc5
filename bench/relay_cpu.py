"""Nexus's own relay cost, without OpenCode: CPU per delta and time to deliver a burst.

    PYTHONPATH=. .venv/bin/python bench/relay_cpu.py                  # this tree, 10 x 1,000 deltas
    PYTHONPATH=/tmp/base .venv/bin/python bench/relay_cpu.py          # another tree (`git archive` of main)
    PYTHONPATH=. .venv/bin/python bench/relay_cpu.py --source emit    # from the hub on (no SSE reading)
    PYTHONPATH=. .venv/bin/python bench/relay_cpu.py --profile        # + where the CPU goes, per thread

Two sources. `sse` (default): a stand-in for OpenCode in another process writes
`message.part.delta` events in `/global/event`'s exact wire format (the envelope, one
`data:` line and a blank line per event, HTTP chunked encoding) and Nexus's real OpenCode
engine reads them (httpx, the SSE line reader, json, the mapper, the hub): the whole path
from OpenCode's bytes to the WebSocket frame. `emit`: deltas go straight into the hub, as
the engine would hand them over.

bench/relay.py measures OpenCode -> Nexus -> WebSocket end to end; on a shared 2-core machine
its wall-clock figures mostly measure the scheduler. This one measures what Nexus controls
and what survives load: the Nexus process's CPU time (getrusage) from the first emitted
delta until a WebSocket client in another process holds every one, with deltas emitted
into 10 sessions interleaved, as the OpenCode engine emits them (no OpenCode parsing
included). Sessions live in a fresh data dir; the client follows all ten like a browser tab.
Every process is stopped by PID; every wait is bounded.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any


def client(url: str, sessions: list[str], expected: int) -> int:
    from nexus import websocket_client

    ws = websocket_client.connect(url)

    def messages(raw: str | None) -> list[dict]:
        if raw is None:
            raise SystemExit("timed out")
        data = json.loads(raw)
        return data if isinstance(data, list) else [data]

    hello = messages(ws.receive(timeout=30))[0]
    for sid in sessions:
        ws.send(json.dumps({"op": "follow", "session": sid, "after": None, "epoch": hello["epoch"]}))
    snapshots = 0
    while snapshots < len(sessions):
        snapshots += sum(m["type"] == "snapshot" for m in messages(ws.receive(timeout=30)))
    print("ready", flush=True)
    tokens = frames = 0
    arrivals: dict[str, dict[int, int]] = {sid: {} for sid in sessions}  # session -> token -> monotonic ns
    while tokens < expected:
        raw = ws.receive(timeout=60)
        now = time.monotonic_ns()
        frames += 1
        for m in messages(raw):
            if m.get("type") == "text.delta":
                found = re.findall(r"tok(\d+) ", m["data"]["delta"])  # merged deltas hold several
                tokens += len(found)
                for i in found:
                    arrivals[m["session"]].setdefault(int(i), now)
    print(f"done {tokens} {frames}", flush=True)
    print(json.dumps([arrivals[sid] for sid in sessions]), flush=True)
    ws.close()
    return 0


# --------------------------------------------------------------------------- a stand-in for OpenCode's stream


def sse_event(ref: str, i: int) -> bytes:
    """One `/global/event` delta exactly as OpenCode writes it: envelope, `data:` line, blank line,
    as one HTTP chunk."""
    payload = {"id": f"evt_{uuid.uuid4().hex[:26]}", "type": "message.part.delta",
               "properties": {"sessionID": ref, "messageID": f"msg_{ref}", "partID": f"prt_{ref}",
                              "field": "text", "delta": f"tok{i} "}}
    line = b"data: " + json.dumps({"directory": "/tmp/relay-cpu", "project": "global", "payload": payload},
                                  separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(line), line)


def sse_server(refs: list[str], per_session: int, interval_ms: float) -> int:
    """Serve `/global/event` on 127.0.0.1: print the port, then on stdin "go" write every delta
    (all sessions interleaved, `interval_ms` between rounds, 0 = one burst); "quit" ends."""
    events = [[sse_event(ref, i) for ref in refs] for i in range(per_session)]
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"port {listener.getsockname()[1]}", flush=True)
    conns: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)  # the request; every path gets the stream
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                         b"transfer-encoding: chunked\r\n\r\n")
            conns.append(conn)
            print("connected", flush=True)

    threading.Thread(target=accept, name="sse-accept", daemon=True).start()
    for line in sys.stdin:
        if line.strip() == "go":
            start = time.monotonic()
            written = []
            for n, batch in enumerate(events):
                if interval_ms:
                    time.sleep(max(0.0, start + n * interval_ms / 1000 - time.monotonic()))
                for conn in conns:
                    conn.sendall(b"".join(batch))
                written.append(time.monotonic_ns())
            print("sent " + json.dumps(written), flush=True)
        elif line.strip() == "quit":
            break
    listener.close()
    return 0


def open_locally(rt: Any) -> None:
    """An owner with a random password and setup finished, login not required on this computer:
    what the bench's clients on 127.0.0.1 need to be let in without signing in."""
    import secrets

    from nexus.auth.repository import AuthRepository

    rt.auth.set_owner("bench", secrets.token_urlsafe(24))
    AuthRepository(rt.db).save_setup_progress("done", time.time())
    rt.settings.update({"security.require_login_locally": False})


class _Stand:
    """What the OpenCode engine needs of a supervisor: a client, never restarted."""

    def __init__(self, url: str) -> None:
        from nexus.server.client import OpenCodeClient

        self.client = OpenCodeClient(url)

    def status(self) -> dict[str, Any]:
        return {"state": "running"}

    def history(self, limit: int = 1) -> list[dict[str, Any]]:
        return []


# --------------------------------------------------------------------------- per-thread profiles


class ThreadProfiles:
    """cProfile in the threads that carry a delta (the engine's reader, each WebSocket's sender):
    cProfile sees one thread only, so the functions that run those threads are wrapped."""

    def __init__(self) -> None:
        self.profiles: dict[str, list[cProfile.Profile]] = {}
        self._lock = threading.Lock()

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        profiles = self

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            profile = cProfile.Profile()
            with profiles._lock:
                profiles.profiles.setdefault(label, []).append(profile)
            profile.enable()
            try:
                return original(*args, **kwargs)
            finally:
                profile.disable()

        setattr(owner, name, wrapped)

    def report(self, top: int = 25) -> str:
        out = io.StringIO()
        for label, profiles in self.profiles.items():
            stats = pstats.Stats(profiles[0], stream=out)
            for extra in profiles[1:]:
                stats.add(extra)
            out.write(f"\n===== {label} ({len(profiles)} thread(s)) =====\n")
            stats.sort_stats("tottime").print_stats(top)
        return out.getvalue()


def server(sessions: int, per_session: int, source: str, interval_ms: float,
           profiles: ThreadProfiles | None) -> dict[str, float]:
    from nexus.runtime import Runtime
    from nexus.ui import create_app
    from nexus.ui.http_server import WebServer

    rt = Runtime.open(Path(tempfile.mkdtemp(prefix="nexus-relay-cpu-")) / "data", console_log=False)
    rt.settings.update({"server.autostart": False})
    open_locally(rt)
    rt.start()
    web = WebServer(create_app(rt), "127.0.0.1", 0).start()
    reader = feeder = engine = None
    try:
        sids, refs = [], []
        for i in range(sessions):
            sid, ref = f"s_{uuid.uuid4().hex[:20]}", f"ses_bench{i}_{uuid.uuid4().hex[:8]}"
            rt.chat.repo.create_session({"id": sid, "engine": "opencode", "engine_ref": ref, "title": "cpu"})
            sids.append(sid)
            refs.append(ref)
        reader = subprocess.Popen([sys.executable, __file__, "client", web.url.replace("http://", "ws://")
                                   + "/api/chat/stream", ",".join(sids), str(sessions * per_session)],
                                  stdout=subprocess.PIPE, text=True)
        assert reader.stdout is not None
        if reader.stdout.readline().strip() != "ready":
            raise SystemExit("the client did not get ready")
        for sid, ref in zip(sids, refs):
            rt.chat.emit(sid, "message.start", {"message": {"id": f"msg_{ref}", "role": "assistant"}})
            rt.chat.emit(sid, "part.update", {"message_id": f"msg_{ref}",
                                              "part": {"id": f"prt_{ref}", "kind": "text", "text": ""}})
        if source == "sse":
            from nexus.chat.engines.opencode import OpenCodeEngine

            feeder = subprocess.Popen([sys.executable, __file__, "sse", ",".join(refs), str(per_session),
                                       str(interval_ms)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert feeder.stdin is not None and feeder.stdout is not None
            port = int(feeder.stdout.readline().split()[1])
            engine = OpenCodeEngine(_Stand(f"http://127.0.0.1:{port}"), rt.chat, server_id="relay-cpu")
            engine.start()
            if feeder.stdout.readline().strip() != "connected":
                raise SystemExit("the engine did not connect to the stand-in stream")
            time.sleep(0.3)  # the engine is blocked reading the stream

        def cpu() -> float:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return usage.ru_utime + usage.ru_stime

        cpu0, t0 = cpu(), time.monotonic()
        if feeder is not None:
            assert feeder.stdin is not None and feeder.stdout is not None
            feeder.stdin.write("go\n")
            feeder.stdin.flush()
            written = json.loads(feeder.stdout.readline().split(" ", 1)[1])  # "sent [...]": all written
        else:
            written = []
            for i in range(per_session):
                if interval_ms:
                    time.sleep(max(0.0, t0 + i * interval_ms / 1000 - time.monotonic()))
                written.append(time.monotonic_ns())
                for sid, ref in zip(sids, refs):
                    rt.chat.emit(sid, "text.delta", {"message_id": f"msg_{ref}", "part_id": f"prt_{ref}",
                                                     "delta": f"tok{i} "})
        emitted = time.monotonic()
        done = reader.stdout.readline().split()
        cpu1, t1 = cpu(), time.monotonic()
        if not done or done[0] != "done":
            raise SystemExit(f"the client failed: {done}")
        arrivals = json.loads(reader.stdout.readline())
        # Each delta: from when the stand-in (or the loop) wrote it to its arrival at the WebSocket client.
        latency = sorted((got[str(i)] - written[i]) / 1e6 for got in arrivals for i in range(per_session))
        n = sessions * per_session
        return {"deltas": n, "cpu_us_per_delta": round((cpu1 - cpu0) / n * 1e6, 2),
                "emit_ms": round((emitted - t0) * 1000), "delivered_ms": round((t1 - t0) * 1000),
                "after_last_emit_ms": round((t1 - emitted) * 1000), "frames": int(done[2]),
                "latency_p50_ms": round(latency[len(latency) // 2], 2),
                "latency_p99_ms": round(latency[min(len(latency) - 1, int(len(latency) * 0.99))], 2)}
    finally:
        if engine is not None:
            engine.stop()
        for proc in (reader, feeder):
            if proc is None:
                continue
            if proc is feeder and proc.stdin is not None:
                try:
                    proc.stdin.write("quit\n")
                    proc.stdin.close()
                except OSError:
                    pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        web.stop()
        rt.stop()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["client"]:
        return client(argv[1], argv[2].split(","), int(argv[3]))
    if argv[:1] == ["sse"]:
        return sse_server(argv[1].split(","), int(argv[2]), float(argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--deltas", type=int, default=1000, help="per session (default 1000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--source", choices=("sse", "emit"), default="sse",
                        help="sse: Nexus's OpenCode engine reads a stand-in stream (default); emit: into the hub")
    parser.add_argument("--interval-ms", type=float, default=0.0,
                        help="ms between rounds of one delta per session (default 0: one burst)")
    parser.add_argument("--profile", action="store_true", help="print cProfile of the reader and sender threads")
    args = parser.parse_args(argv)
    import nexus

    profiles = None
    if args.profile:
        from nexus.chat.engines.opencode import OpenCodeEngine
        from nexus.ui import chat_stream

        profiles = ThreadProfiles()
        profiles.wrap(OpenCodeEngine, "_consume", "engine reader: SSE bytes -> hub")
        profiles.wrap(chat_stream, "serve_websocket", "WebSocket sender: hub -> frames")
    results = [server(args.sessions, args.deltas, args.source, args.interval_ms, profiles) for _ in range(args.runs)]
    cpu = sorted(r["cpu_us_per_delta"] for r in results)
    late = sorted(r["after_last_emit_ms"] for r in results)
    p50 = sorted(r["latency_p50_ms"] for r in results)
    p99 = sorted(r["latency_p99_ms"] for r in results)
    print(json.dumps({"tree": str(Path(nexus.__file__).parent.parent), "source": args.source, "runs": results},
                     indent=1))
    print(f"Nexus relay CPU per delta ({args.source}), median of {args.runs}: {cpu[len(cpu) // 2]} us; "
          f"last delta delivered {late[len(late) // 2]} ms after the last emit (median); written -> WebSocket "
          f"client p50 {p50[len(p50) // 2]} ms, p99 {p99[len(p99) // 2]} ms (medians); load {os.getloadavg()[0]:.1f}")
    if profiles is not None:
        print(profiles.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
