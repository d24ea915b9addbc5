"""Logs page on a 1 GB log: open it and see a new line, through real HTTP against a real Nexus.

    .venv/bin/python bench/log_tail.py            # ~30 s; writes the "log_tail" key of bench/results.json
    .venv/bin/python bench/log_tail.py --size-mb 200 --rounds 5 --no-save
    .venv/bin/python bench/run.py --only logs     # the same, from the main runner

Set-up: a fresh data dir with `logs.max_bytes` at its maximum (1 GiB, so the file is not
rotated away at start-up), then `<data dir>/logs/nexus.jsonl` is filled with 1 GB of JSON
lines shaped like Nexus's own (levels 70 % INFO, 20 % DEBUG, 8 % WARNING, 2 % ERROR; three
sources): eight distinct 4 MB blocks, written over and over (a few seconds). Then `nexus serve` starts on it (OpenCode not started).

Figures (each round on a new connection; median and max over the rounds):
  * page: GET /logs (the HTML)
  * first page: GET /api/logs?limit=200 - the page's first API call, the last 200 lines
  * first page, filtered: the last 200 ERROR lines; and a search that matches nothing
    (stops at the reader's 32 MB scan budget and returns a cursor)
  * live line: a WebSocket on /api/logs/stream (as the page opens it); after its hello a
    line is appended to the file (O_APPEND, as a second writer would); time until that line
    arrives on the WebSocket
  * open and tail: page + first page + WebSocket hello + live line, one after another, as
    the browser does them - the figure with the 1 s target

The 1 GB file is made in a temp dir and deleted afterwards, with everything else. Nexus is
stopped by PID (SIGTERM, wait, SIGKILL after a timeout); its descendants are checked.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
_main = sys.modules.get("__main__")
if _main is not None and Path(getattr(_main, "__file__", None) or "-").resolve() == BENCH / "run.py":
    R = _main  # called by bench/run.py: share its helpers and its list of running processes
else:
    import run as R

import http.client  # noqa: E402

TARGETS = {"open_and_tail_s": 1.0}
MB = 1000 * 1000


def generate(path: Path, size_bytes: int, distinct_blocks: int = 8) -> dict[str, Any]:
    """JSON lines like Nexus writes, `size_bytes` of them, fast: `distinct_blocks` blocks of
    4 MB of varied lines are built once and written over and over (formatting a gigabyte
    line by line would take minutes; the reader does not care that blocks repeat)."""
    levels = ["INFO"] * 70 + ["DEBUG"] * 20 + ["WARNING"] * 8 + ["ERROR"] * 2
    sources = ["nexus", "opencode", "cloudflared"]
    texts = ["GET /session/%d 200 in 12ms", "health check ok (%d ms)", "message part updated: %d tokens",
             "Registered tunnel connection connIndex=%d", "tool bash finished with exit code 0 after %d ms",
             "restarting in %d s (attempt 1 of 5)"]
    t0 = time.perf_counter()
    blocks: list[bytes] = []
    i = 0
    ts = time.time() - 86400
    for _ in range(distinct_blocks):
        block: list[str] = []
        block_bytes = 0
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))
        while block_bytes < 4 * 1024 * 1024:
            level = levels[(i * 7919) % 100]
            source = sources[i % 3]
            line = (f'{{"ts": {ts:.3f}, "time": "{stamp}.{i % 1000:03d}Z", "level": "{level}", '
                    f'"source": "{source}", "logger": "nexus.{source}", '
                    f'"message": "{texts[i % len(texts)] % (i % 997)} #{i}"}}\n')
            block.append(line)
            block_bytes += len(line)
            i += 1
        blocks.append("".join(block).encode())
        ts += 60
    written = lines = 0
    with open(path, "wb") as fh:
        n = 0
        while written < size_bytes:
            data = blocks[n % len(blocks)]
            n += 1
            if written + len(data) > size_bytes:  # end on a whole line just under the size
                data = data[:data.rfind(b"\n", 0, size_bytes - written) + 1]
                if not data:
                    break
            fh.write(data)
            written += len(data)
            lines += data.count(b"\n")
    return {"bytes": written, "lines": lines, "seconds": round(time.perf_counter() - t0, 2)}


def timed_get(port: int, path: str, timeout: float = 30.0) -> tuple[float, int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Accept": "application/json, text/html"})
        res = conn.getresponse()
        body = res.read()
        return time.perf_counter() - t0, res.status, body
    finally:
        conn.close()


def live_line(port: int, log_file: Path, round_no: int, timeout: float = 10.0) -> tuple[float, float]:
    """(seconds to the WebSocket's hello, seconds from appending a line to receiving it)."""
    from nexus import websocket_client

    t0 = time.perf_counter()
    ws = websocket_client.connect(f"ws://127.0.0.1:{port}/api/logs/stream?q=bench-marker")
    try:
        hello = json.loads(ws.receive(timeout=timeout))
        if hello.get("type") != "hello":
            raise R.BenchError(f"expected hello, got {hello}")
        hello_s = time.perf_counter() - t0
        marker = f"bench-marker round {round_no} {time.time_ns()}"
        line = json.dumps({"ts": time.time(), "time": "x", "level": "WARNING", "source": "nexus",
                           "logger": "bench", "message": marker}) + "\n"
        fd = os.open(log_file, os.O_WRONLY | os.O_APPEND)
        try:
            t1 = time.perf_counter()
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        deadline = t1 + timeout
        while time.perf_counter() < deadline:
            raw = ws.receive(timeout=max(0.01, deadline - time.perf_counter()))
            if raw is None:
                continue
            msg = json.loads(raw)
            if msg.get("type") == "logs.lines" and any(e["message"] == marker for e in msg["data"]["lines"]):
                return hello_s, time.perf_counter() - t1
        raise R.BenchError(f"the appended line did not arrive within {timeout:g} s")
    finally:
        ws.close()


def summary(values: list[float]) -> dict[str, Any]:
    return {"median_s": round(statistics.median(values), 4), "max_s": round(max(values), 4),
            "all_s": [round(v, 4) for v in values]}


def bench_log_tail(scratch: Path, size_bytes: int = 1000 * MB, rounds: int = 7) -> dict[str, Any]:
    scratch.mkdir(parents=True, exist_ok=True)
    env = R.base_env(scratch)
    data_dir = scratch / "data"
    # Creates the store; the settings command leaves a small log behind, replaced below.
    R.nexus_settings(data_dir, env, "server.autostart", "false")
    R.nexus_settings(data_dir, env, "logs.max_bytes", str(1024 ** 3))
    R.nexus_open_locally(data_dir, env)  # an owner and a finished setup, no sign-in on this computer
    log_file = data_dir / "logs" / "nexus.jsonl"
    for old in log_file.parent.glob("nexus.jsonl*"):
        old.unlink()
    print(f"  generating {size_bytes / MB:.0f} MB of JSON lines...", flush=True)
    made = generate(log_file, size_bytes)
    print(f"  {made['bytes'] / MB:.0f} MB, {made['lines']:,} lines in {made['seconds']} s", flush=True)

    port = R.free_port()
    proc, t0 = R.start("nexus (1 GB log)", R.nexus_cmd(port, data_dir), env, scratch / "nexus.log")
    result: dict[str, Any] = {"file": made, "rounds": rounds, "target_s": TARGETS["open_and_tail_s"]}
    try:
        result["nexus_start_s"] = round(R.wait_first_200(proc, t0, port), 3)
        if log_file.stat().st_size < made["bytes"]:
            raise R.BenchError("the log was rotated at start-up; logs.max_bytes did not apply")
        cold_s, status, body = timed_get(port, "/api/logs?limit=200")
        if status != 200 or len(json.loads(body)["lines"]) != 200:
            raise R.BenchError(f"/api/logs answered {status}: {body[:300]!r}")
        result["first_call_after_start_s"] = round(cold_s, 4)
        page, first, errors, nothing, hello, tail, total = [], [], [], [], [], [], []
        for i in range(rounds):
            page_s, status, _ = timed_get(port, "/logs")
            if status != 200:
                raise R.BenchError(f"/logs answered {status}")
            first_s, _, body = timed_get(port, "/api/logs?limit=200")
            hello_s, tail_s = live_line(port, log_file, i)
            err_s, _, err_body = timed_get(port, "/api/logs?limit=200&level=ERROR")
            none_s, _, none_body = timed_get(port, "/api/logs?limit=200&q=no-such-text-anywhere")
            page.append(page_s)
            first.append(first_s)
            hello.append(hello_s)
            tail.append(tail_s)
            errors.append(err_s)
            nothing.append(none_s)
            total.append(page_s + first_s + hello_s + tail_s)
            print(f"  round {i + 1}/{rounds}: page {page_s * 1000:.0f} ms, last 200 {first_s * 1000:.0f} ms, "
                  f"stream hello {hello_s * 1000:.0f} ms, live line {tail_s * 1000:.0f} ms "
                  f"(last 200 ERROR {err_s * 1000:.0f} ms, no-match search {none_s * 1000:.0f} ms)", flush=True)
        scanned = json.loads(none_body)["scanned_bytes"]
        result.update({
            "page": summary(page), "last_200": summary(first), "stream_hello": summary(hello),
            "live_line": summary(tail), "last_200_errors": summary(errors),
            "no_match_search": {**summary(nothing), "scanned_mb": round(scanned / MB, 1),
                                "cursor_returned": json.loads(none_body)["cursor"] is not None},
            "last_200_bytes": len(body), "last_200_errors_lines": len(json.loads(err_body)["lines"]),
            "open_and_tail": summary(total),
        })
        proc.note_descendants()
        result["nexus_rss_mb"] = round(R.psutil.Process(proc.pid).memory_info().rss / 1024 / 1024, 1)
    finally:
        stopped = R.stop(proc)
        result["leftover_processes"] = stopped["leftovers"]
    median = result["open_and_tail"]["median_s"]
    result["ratio_to_target"] = round(median / TARGETS["open_and_tail_s"], 3)
    result["verdicts"] = {f"log_tail.open_and_tail.median < {TARGETS['open_and_tail_s']:g}":
                          median < TARGETS["open_and_tail_s"],
                          f"log_tail.open_and_tail.max < {TARGETS['open_and_tail_s']:g}":
                          result["open_and_tail"]["max_s"] < TARGETS["open_and_tail_s"]}
    return result


def table(r: dict[str, Any]) -> str:
    ms = lambda s: f"{s['median_s'] * 1000:.0f} ms (max {s['max_s'] * 1000:.0f})"  # noqa: E731
    rows = [
        ("Log file", f"{r['file']['bytes'] / MB:.0f} MB, {r['file']['lines']:,} lines", "-", ""),
        ("GET /logs (HTML)", ms(r["page"]), "-", ""),
        ("GET /api/logs last 200 lines", ms(r["last_200"]), "-", f"first call after start {r['first_call_after_start_s'] * 1000:.0f} ms"),
        ("  last 200 ERROR lines", ms(r["last_200_errors"]), "-", ""),
        ("  search matching nothing", ms(r["no_match_search"]), "-",
         f"stops after {r['no_match_search']['scanned_mb']} MB with a cursor"),
        ("Live stream: WebSocket to hello", ms(r["stream_hello"]), "-", ""),
        ("Live line: append to arrival", ms(r["live_line"]), "-", "follower polls every 0.2 s"),
        ("Open and tail (sum of the above four)", ms(r["open_and_tail"]), f"< {r['target_s']:g} s",
         f"{r['ratio_to_target']:.2f}x target {'PASS' if all(r['verdicts'].values()) else 'FAIL'}"),
        ("Nexus RSS after the rounds", f"{r['nexus_rss_mb']} MB", "-", ""),
    ]
    width = max(len(row[0]) for row in rows)
    return "\n".join(f"{a:<{width}}  {b:<26} {c:<8} {d}" for a, b, c, d in rows)


def save(result: dict[str, Any], path: Path) -> None:
    """Write under the "log_tail" key, keeping every other key of the file."""
    try:
        existing = json.loads(path.read_text())
    except (OSError, ValueError):
        existing = {}
    existing = existing if isinstance(existing, dict) else {}
    existing["log_tail"] = result
    path.write_text(json.dumps(existing, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The logs page on a 1 GB log: open it and tail it.")
    parser.add_argument("--size-mb", type=int, default=1000, help="size of the generated log (default 1000 MB)")
    parser.add_argument("--rounds", type=int, default=7, help="measured rounds (default 7)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch dir (and the generated log)")
    parser.add_argument("--out", type=Path, default=R.RESULTS, help=f"results file (default {R.RESULTS})")
    parser.add_argument("--no-save", action="store_true", help="print only; leave the results file alone")
    args = parser.parse_args(argv)
    if not R.NEXUS.exists():
        raise SystemExit(f"{R.NEXUS} not found: install Nexus into the venv first")
    scratch = Path(tempfile.mkdtemp(prefix="nexus-logtail-"))
    previous = signal.getsignal(signal.SIGTERM)

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    print(f"Log tail: {args.size_mb} MB log, {args.rounds} rounds...", flush=True)
    try:
        result = bench_log_tail(scratch, args.size_mb * MB, args.rounds)
    except (R.BenchError, KeyboardInterrupt) as exc:
        print(f"\nlog tail bench: {exc}", file=sys.stderr)
        R.stop_all()
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    result["when"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if not args.no_save:
        save(result, args.out)
    print()
    print(table(result))
    print(f"\nLoad average: {result['load_average']} on {os.cpu_count()} CPUs. "
          f"Leftover processes: {result['leftover_processes'] or 'none'}")
    return 0 if all(result["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
