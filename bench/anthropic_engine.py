"""The Anthropic engine's own overhead, against the fake Messages API on loopback.

    .venv/bin/python bench/anthropic_engine.py     # ~20 s; prints JSON

- first_delta_ms: prompt() returns -> first text.delta reaches a hub client (median of 20);
  includes building the request from the store, the SDK's HTTP round trip and SSE parsing.
- deltas_per_s: a 2,000-delta reply streamed through SDK, engine, hub to one client.
- stop_ms: Stop pressed while the stream is stalled -> session idle again (median of 10).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nexus.chat.engines.anthropic import API_KEY_SECRET
from nexus.runtime import Runtime
from tests.fakes import fake_anthropic as fa


def wait(client, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = client.get(timeout=0.1)
        if event is not None and check(event):
            return event
    raise TimeoutError


def main() -> None:
    fake = fa.FakeAnthropic().start()
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime.open(Path(tmp) / "data", console_log=False)
        rt.settings.update({"server.autostart": False, "anthropic.base_url": fake.url, "anthropic.max_retries": 0})
        rt.secrets.set(API_KEY_SECRET, fa.VALID_KEY)
        rt.start()
        try:
            agent = rt.agents.create({"name": "bench", "engine": "anthropic"})
            idle = lambda e: e.type == "session.status" and e.data["status"] == "idle"  # noqa: E731
            first = []
            for i in range(20):
                sid = rt.chat.create(agent_id=agent["id"])["id"] if i % 5 == 0 else sid  # noqa: F821
                client = rt.chat.hub.client()
                rt.chat.follow(client, sid, None, None)
                fake.queue(fa.reply("one two three"))
                started = time.perf_counter()
                rt.chat.prompt(sid, text=f"hi {i}")
                wait(client, lambda e: e.type == "text.delta")
                first.append((time.perf_counter() - started) * 1000)
                wait(client, idle)
                if i % 5 == 4:
                    rt.chat.archive(sid)
            sid = rt.chat.create(agent_id=agent["id"])["id"]
            client = rt.chat.hub.client()
            rt.chat.follow(client, sid, None, None)
            fake.queue([fa.message_start(), *fa.text_block(0, *(["tok "] * 2000)), *fa.message_end(output_tokens=2000)])
            started = time.perf_counter()
            rt.chat.prompt(sid, text="long")
            wait(client, idle, timeout=120)
            throughput = 2000 / (time.perf_counter() - started)
            stops = []
            for _ in range(10):
                gate = threading.Event()
                fake.queue([fa.message_start(), *fa.text_block(0, "x ")[:-1], fa.hold(gate)])
                rt.chat.prompt(sid, text="stall")
                wait(client, lambda e: e.type == "text.delta")
                started = time.perf_counter()
                rt.chat.abort(sid)
                wait(client, idle)
                stops.append((time.perf_counter() - started) * 1000)
                gate.set()
        finally:
            rt.stop()
            fake.stop()
    print(json.dumps({"first_delta_ms": round(statistics.median(first), 1),
                      "deltas_per_s": round(throughput), "stop_ms": round(statistics.median(stops), 1)}, indent=2))


if __name__ == "__main__":
    main()
