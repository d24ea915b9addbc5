"""Nexus's own relay cost, without OpenCode: CPU per delta and time to deliver a burst.

    PYTHONPATH=. .venv/bin/python bench/relay_cpu.py                  # this tree, 10 x 1,000 deltas
    PYTHONPATH=/tmp/base .venv/bin/python bench/relay_cpu.py          # another tree (`git archive` of main)

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
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


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
    while tokens < expected:
        frames += 1
        for m in messages(ws.receive(timeout=60)):
            if m.get("type") == "text.delta":
                tokens += len(re.findall(r"tok\d+ ", m["data"]["delta"]))  # merged deltas hold several
    print(f"done {tokens} {frames}", flush=True)
    ws.close()
    return 0


def server(sessions: int, per_session: int) -> dict[str, float]:
    from nexus.runtime import Runtime
    from nexus.ui import create_app
    from nexus.ui.http_server import WebServer

    rt = Runtime.open(Path(tempfile.mkdtemp(prefix="nexus-relay-cpu-")) / "data", console_log=False)
    rt.settings.update({"server.autostart": False})
    rt.start()
    web = WebServer(create_app(rt), "127.0.0.1", 0).start()
    reader = None
    try:
        sids = []
        for i in range(sessions):
            sid = f"s_{uuid.uuid4().hex[:20]}"
            rt.chat.repo.create_session({"id": sid, "engine": "opencode", "engine_ref": f"bench{i}", "title": "cpu"})
            sids.append(sid)
        reader = subprocess.Popen([sys.executable, __file__, "client", web.url.replace("http://", "ws://")
                                   + "/api/chat/stream", ",".join(sids), str(sessions * per_session)],
                                  stdout=subprocess.PIPE, text=True)
        assert reader.stdout is not None
        if reader.stdout.readline().strip() != "ready":
            raise SystemExit("the client did not get ready")
        for sid in sids:
            rt.chat.emit(sid, "message.start", {"message": {"id": f"m_{sid}", "role": "assistant"}})
            rt.chat.emit(sid, "part.update", {"message_id": f"m_{sid}",
                                              "part": {"id": f"p_{sid}", "kind": "text", "text": ""}})

        def cpu() -> float:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            return usage.ru_utime + usage.ru_stime

        cpu0, t0 = cpu(), time.monotonic()
        for i in range(per_session):
            for sid in sids:
                rt.chat.emit(sid, "text.delta", {"message_id": f"m_{sid}", "part_id": f"p_{sid}", "delta": f"tok{i} "})
        emitted = time.monotonic()
        done = reader.stdout.readline().split()
        cpu1, t1 = cpu(), time.monotonic()
        if not done or done[0] != "done":
            raise SystemExit(f"the client failed: {done}")
        n = sessions * per_session
        return {"deltas": n, "cpu_us_per_delta": round((cpu1 - cpu0) / n * 1e6, 2),
                "emit_ms": round((emitted - t0) * 1000), "delivered_ms": round((t1 - t0) * 1000),
                "after_last_emit_ms": round((t1 - emitted) * 1000), "frames": int(done[2])}
    finally:
        if reader is not None:
            try:
                reader.wait(10)
            except subprocess.TimeoutExpired:
                reader.kill()
        web.stop()
        rt.stop()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["client"]:
        return client(argv[1], argv[2].split(","), int(argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--deltas", type=int, default=1000, help="per session (default 1000)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    import nexus

    results = [server(args.sessions, args.deltas) for _ in range(args.runs)]
    cpu = sorted(r["cpu_us_per_delta"] for r in results)
    late = sorted(r["after_last_emit_ms"] for r in results)
    print(json.dumps({"tree": str(Path(nexus.__file__).parent.parent), "runs": results}, indent=1))
    print(f"Nexus relay CPU per delta, median of {args.runs}: {cpu[len(cpu) // 2]} us; "
          f"last delta delivered {late[len(late) // 2]} ms after the last emit (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
