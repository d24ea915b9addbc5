"""Where `nexus serve`'s start-up time goes.

Runs the same steps as nexus.host.headless.serve (imports, Runtime.open, create_app, WebServer.start,
first /healthz) in fresh child processes, timing each phase, with Runtime.open split into its
parts; and once more under `python -X importtime` to find the costliest imports and which
Nexus module pulls each one in.

    .venv/bin/python bench/profile_startup.py            # a readable report
    .venv/bin/python bench/profile_startup.py --json     # what bench/run.py stores
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV_PY = BENCH.parent / ".venv" / "bin" / "python"

# The child: the steps of nexus.host.headless.serve, timed. Everything is imported inside, in the same order.
CHILD = r"""
import json, sys, time
T = {}
def mark(name, t0):
    T[name] = T.get(name, 0.0) + time.perf_counter() - t0

t_all = time.perf_counter()
t = time.perf_counter(); import nexus.cli; mark("import nexus.cli (argparse, CLI)", t)
from nexus import startup_gc
startup_gc.pause()  # as nexus.cli.main does for `nexus serve`: no collections during start-up
t = time.perf_counter()
from nexus.runtime import Runtime
mark("import nexus.runtime (store, settings, supervisor...)", t)
t = time.perf_counter()
from nexus.store import StoreError
from nexus.ui import create_app
from nexus.ui.http_server import PortInUse, WebServer
mark("import nexus.ui (flask, routes...)", t)

# Split Runtime.open into its parts by wrapping what it calls (this process only).
import nexus.runtime as R
from nexus.store.database import Database
def timed(label, fn):
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            mark(label, t)
    return wrapper
R.configure_logging = timed("  Runtime.open: configure_logging (x2)", R.configure_logging)
R.Settings = timed("  Runtime.open: Settings", R.Settings)
R.Supervisor = timed("  Runtime.open: Supervisor", R.Supervisor)
R.MetricsSampler = timed("  Runtime.open: MetricsSampler", R.MetricsSampler)
Database.__init__ = timed("  Runtime.open: Database: create_engine", Database.__init__)
Database.current_revision = timed("  Runtime.open: Database: check schema revision", Database.current_revision)
_migrate = Database.migrate
def migrate(self):
    t = time.perf_counter()
    had_alembic = "alembic" in sys.modules
    _migrate(self)
    if not had_alembic and "alembic" in sys.modules:
        mark("  Runtime.open: Database: alembic import + migration", t)
Database.migrate = migrate

t = time.perf_counter(); rt = Runtime.open(sys.argv[1]); mark("Runtime.open", t)
t = time.perf_counter(); app = create_app(rt); mark("create_app", t)
t = time.perf_counter(); server = WebServer(app, "127.0.0.1", 0); server.start(); mark("WebServer.start", t)
import http.client
t = time.perf_counter()
c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5); c.request("GET", "/healthz")
r = c.getresponse(); r.read(); assert r.status == 200, r.status; c.close()
mark("first GET /healthz", t)
T["total in-process"] = time.perf_counter() - t_all
server.stop(); rt.stop()
from nexus.logs import shutdown_logging; shutdown_logging()
print("PHASES " + json.dumps(T))
"""


def run_child(python: str, data_dir: Path, env: dict[str, str], importtime: bool = False) -> tuple[dict, str]:
    cmd = [python, *(["-X", "importtime"] if importtime else []), "-c", CHILD, str(data_dir)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=data_dir.parent)
    lines = [l for l in done.stdout.splitlines() if l.startswith("PHASES ")]
    if done.returncode != 0 or not lines:
        errors = "\n".join(l for l in done.stderr.splitlines() if not l.startswith("import time:"))
        raise RuntimeError(f"start-up probe failed ({done.returncode}):\n{errors[-3000:]}")
    return json.loads(lines[-1].removeprefix("PHASES ")), done.stderr


def wall(python: str, code: str, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([python, "-c", code], env=env, check=True, timeout=60, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def parse_importtime(stderr: str) -> list[dict]:
    """Rows of `-X importtime` with each module's importer (children are printed before parents)."""
    rows, pending = [], {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name_field = line.removeprefix("import time:").split("|", 2)
        depth = (len(name_field) - len(name_field.lstrip()) - 1) // 2
        name = name_field.strip()
        row = {"module": name, "self_ms": int(self_us) / 1000, "cumulative_ms": int(cum_us) / 1000,
               "depth": depth, "parent": "(top level)"}
        for child in pending.pop(depth + 1, []):
            child["parent"] = name
        pending.setdefault(depth, []).append(row)
        rows.append(row)
    return rows


def summarize_imports(rows: list[dict]) -> dict:
    by_package: dict[str, float] = {}
    for r in rows:
        top = r["module"].split(".")[0]
        by_package[top] = by_package.get(top, 0.0) + r["self_ms"]
    # The edges that matter: a third-party module imported by a Nexus module (or by nothing).
    edges = [r for r in rows if not r["module"].startswith("nexus")
             and (r["parent"].startswith("nexus") or r["parent"] == "(top level)")]
    edges.sort(key=lambda r: -r["cumulative_ms"])
    nexus_modules = sorted((r for r in rows if r["module"].startswith("nexus")), key=lambda r: -r["cumulative_ms"])
    return {
        "total_ms": round(sum(r["self_ms"] for r in rows), 1),
        "self_ms_by_package": dict(sorted(((k, round(v, 1)) for k, v in by_package.items()), key=lambda kv: -kv[1])[:15]),
        "top_imports": [{k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items() if k != "depth"}
                        for r in edges[:20]],
        "nexus_modules": [{"module": r["module"], "cumulative_ms": round(r["cumulative_ms"], 1),
                           "parent": r["parent"]} for r in nexus_modules[:15]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile `nexus serve` start-up.")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--scratch", type=Path, help="work dir (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    python = str(VENV_PY if VENV_PY.exists() else sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NEXUS_", "OPENCODE_"))}
    env["PYTHONPATH"] = str(BENCH.parent)  # this tree's nexus, not the one the shared venv was installed from
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="nexus-profile-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        # A warm-up run compiles .pyc files; the rest are what we measure.
        run_child(python, scratch / "warm", env)
        fresh, existing = [], []
        for i in range(args.runs):
            fresh.append(run_child(python, scratch / f"d{i}", env)[0])       # new dir: creates + migrates
            existing.append(run_child(python, scratch / f"d{i}", env)[0])    # same dir again
        _, stderr = run_child(python, scratch / "d0", env, importtime=True)
        imports = summarize_imports(parse_importtime(stderr))
        _, stderr_fresh = run_child(python, scratch / "fresh-importtime", env, importtime=True)
        imports_fresh = summarize_imports(parse_importtime(stderr_fresh))

        def med(samples: list[dict]) -> dict[str, float]:
            return {k: round(statistics.median(s.get(k, 0.0) for s in samples), 4) for k in samples[0]}

        report = {
            "python_startup_s": round(wall(python, "pass", env, args.runs), 4),
            "python_import_flask_werkzeug_s": round(wall(python, "import flask, werkzeug.serving", env, args.runs), 4),
            "phases_existing": med(existing),
            "phases_fresh": med(fresh),
            "imports_existing": imports,
            "imports_fresh_extra_packages_ms": {
                k: v for k, v in imports_fresh["self_ms_by_package"].items()
                if v - imports["self_ms_by_package"].get(k, 0.0) > 5},
            "top_imports": imports["top_imports"],
            "note": "-X importtime figures carry the profiler's own overhead; phases are measured without it",
        }
    finally:
        if args.scratch is None:
            shutil.rmtree(scratch, ignore_errors=True)

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"python -c pass: {report['python_startup_s'] * 1000:.0f} ms; "
          f"python -c 'import flask, werkzeug.serving': {report['python_import_flask_werkzeug_s'] * 1000:.0f} ms")
    for title, phases in (("later launch (existing data dir)", report["phases_existing"]),
                          ("first launch (fresh data dir)", report["phases_fresh"])):
        print(f"\nPhases, {title}, median of {args.runs}:")
        for name, s in phases.items():
            print(f"  {name:<58} {s * 1000:7.1f} ms")
    print(f"\nImport time by package (self, -X importtime, total {imports['total_ms']:.0f} ms):")
    for pkg, ms in imports["self_ms_by_package"].items():
        print(f"  {pkg:<30} {ms:7.1f} ms")
    print("\nCostliest third-party imports and the Nexus module that pulls each in (cumulative):")
    for r in report["top_imports"][:15]:
        print(f"  {r['module']:<30} {r['cumulative_ms']:7.1f} ms  <- {r['parent']}")
    print("\nNexus modules (cumulative):")
    for r in imports["nexus_modules"]:
        print(f"  {r['module']:<30} {r['cumulative_ms']:7.1f} ms  <- {r['parent']}")
    if report["imports_fresh_extra_packages_ms"]:
        print("\nExtra imports on a fresh data dir (self ms, includes the later figure):",
              report["imports_fresh_extra_packages_ms"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
