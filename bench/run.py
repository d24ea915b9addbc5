"""Nexus benchmarks: cold start and idle memory, with targets. One command runs them all:

    .venv/bin/python bench/run.py            # about a minute; writes bench/results.json

Figures:
  * cold start: from just before Popen(`nexus serve`) to the first 200 on /healthz, median of
    N runs, for a first launch (fresh data dir: includes creating the store and the migration)
    and a later launch (same data dir again, `server.autostart` false), and the same for a bare
    Flask hello-world app (bench/flask_hello.py, Werkzeug make_server), given as a ratio.
  * idle RSS of the Nexus python process alone (not its children) with the OpenCode child
    running, after ~10 s idle; the real OpenCode binary runs offline against tests/fakes'
    fake LLM. Without the binary, Nexus idle RSS without OpenCode is measured and labelled so.
  * where start-up time goes (bench/profile_startup.py): phases and the costliest imports.
  * relay overhead (bench/relay.py), the logs page on a 1 GB log (bench/log_tail.py) and a
    2,000-message session opened in Chromium (bench/long_session.py): see those files. Each
    prints its figure, the comparison measured in the same run, the ratio and the verdict.

Every launched process gets PYTHONPATH set to the tree this file sits in (base_env), so a
worktree measures its own code, not the tree the shared venv was installed from.

Every process started here is stopped by PID (SIGTERM, wait; SIGKILL only after a timeout)
and afterwards every descendant seen while it ran is checked with psutil; leftovers are
killed by PID and reported. All loops are bounded.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin"
VENV_PY = VENV_BIN / "python"
NEXUS = VENV_BIN / "nexus"
OPENCODE = ROOT / ".cache" / "opencode" / "node_modules" / "opencode-linux-x64" / "bin" / "opencode"
FLASK_HELLO = BENCH / "flask_hello.py"
RESULTS = BENCH / "results.json"
OTHER_BENCHES = ("chaos",)  # keys of results.json that other benches write

try:
    import psutil
except ImportError:  # run with the wrong python: re-run with the venv's, which has psutil
    if VENV_PY.exists() and Path(sys.executable).resolve() != VENV_PY.resolve() and not os.environ.get("_NEXUS_BENCH_REEXEC"):
        os.environ["_NEXUS_BENCH_REEXEC"] = "1"
        os.execv(str(VENV_PY), [str(VENV_PY), __file__, *sys.argv[1:]])
    raise SystemExit("bench/run.py needs psutil: run it with /work/main/.venv/bin/python") from None

TARGETS = {"cold_start_s": 1.0, "cold_start_ratio": 2.0, "idle_rss_mb": 80.0}
MB = 1024 * 1024


class BenchError(RuntimeError):
    pass


# --------------------------------------------------------------------------- processes


@dataclass
class Started:
    name: str
    popen: subprocess.Popen
    log_path: Path
    descendants: dict[int, str] = field(default_factory=dict)  # pid -> name, seen while running

    @property
    def pid(self) -> int:
        return self.popen.pid

    def note_descendants(self) -> None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    self.descendants.setdefault(child.pid, child.name())

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


CPU_SECONDS: dict[str, list[float]] = {}  # launch name -> user+system CPU seconds at the first 200
_RUNNING: list[Started] = []  # everything started and not yet stopped, for the final clean-up


def start(name: str, cmd: list[str], env: dict[str, str], log_path: Path) -> tuple[Started, float]:
    """Popen with output to a file; returns the process and the perf_counter just before Popen."""
    log = open(log_path, "wb")
    try:
        t0 = time.perf_counter()
        popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                 cwd=log_path.parent)
    finally:
        log.close()  # the child has its own copy of the descriptor
    proc = Started(name, popen, log_path)
    _RUNNING.append(proc)
    return proc, t0


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop(proc: Started, timeout: float = 20.0) -> dict[str, Any]:
    """SIGTERM by PID and wait; SIGKILL after `timeout`. Then make sure no descendant is left."""
    result: dict[str, Any] = {"pid": proc.pid, "killed": False, "leftovers": []}
    if proc.popen.poll() is None:
        proc.note_descendants()
        t0 = time.perf_counter()
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            result["killed"] = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.popen.wait(5)
        result["stop_s"] = round(time.perf_counter() - t0, 3)
    result["exit_code"] = proc.popen.returncode
    for pid, name in proc.descendants.items():
        if not _alive(pid):
            continue
        result["leftovers"].append({"pid": pid, "name": name})
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    if result["leftovers"]:
        print(f"  !! {proc.name} (pid {proc.pid}) left {result['leftovers']} behind; killed them by PID",
              file=sys.stderr)
    if proc in _RUNNING:
        _RUNNING.remove(proc)
    return result


def stop_all() -> None:
    for proc in list(_RUNNING):
        stop(proc, timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, timeout: float = 1.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_first_200(proc: Started, t0: float, port: int, path: str = "/healthz", timeout: float = 30.0) -> float:
    """Seconds from t0 to the first 200 on `path`. Short timeouts: connect, then one GET."""
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        if proc.popen.poll() is not None:
            raise BenchError(f"{proc.name} exited with code {proc.popen.returncode} before answering:\n"
                             f"{proc.log_tail()}")
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=0.1)
        except OSError:
            time.sleep(0.005)
            continue
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
        conn.sock = sock
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                return time.perf_counter() - t0
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.005)
    raise BenchError(f"{proc.name} did not answer 200 on {path} within {timeout:g} s:\n{proc.log_tail()}")


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as exc:
            last_exc = exc
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:g} s waiting for {what}" + (f" (last error: {last_exc})" if last_exc else ""))


# --------------------------------------------------------------------------- environment


def base_env(scratch: Path) -> dict[str, str]:
    """The environment every launched process gets: no inherited OPENCODE_*/NEXUS_*/PYTHON*
    variables (PYTHONPATH is set to this tree), an empty HOME and a short PATH, so Nexus cannot
    find an OpenCode binary on its own (a fresh data dir has server.autostart true until the
    store exists to change it)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENCODE_", "NEXUS_", "PYTHON", "_NEXUS_BENCH"))}
    # The tree this bench sits in, not the one the shared venv was installed from (its `nexus`
    # script and `-m nexus` both import what PYTHONPATH names first): a worktree measures itself.
    env["PYTHONPATH"] = str(ROOT)
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(VENV_BIN), "/usr/bin", "/bin"])
    # This tree's nexus (a worktree measures itself), not the one the shared venv's editable
    # install points at: the venv's `nexus` script imports whatever comes first on sys.path.
    env["PYTHONPATH"] = str(ROOT)
    return env


def nexus_cmd(port: int, data_dir: Path) -> list[str]:
    return [str(NEXUS), "serve", "--port", str(port), "--data-dir", str(data_dir)]


def flask_cmd(port: int) -> list[str]:
    return [str(VENV_PY), str(FLASK_HELLO), "--port", str(port)]


def nexus_open_locally(data_dir: Path, env: dict[str, str]) -> None:
    """An owner with a random password, setup finished, login not required on this computer:
    the bench's clients on 127.0.0.1 then use the API without signing in (a store with no owner
    answers 401 to everything but the setup page)."""
    code = ("import secrets, sys, time; from pathlib import Path; from nexus.runtime import Runtime; "
            "from nexus.auth.repository import AuthRepository; "
            "rt = Runtime.open(Path(sys.argv[1]), console_log=False); "
            "rt.auth.set_owner('bench', secrets.token_urlsafe(24)); "
            "AuthRepository(rt.db).save_setup_progress('done', time.time()); "
            "rt.settings.update({'security.require_login_locally': False}); rt.db.close()")
    done = subprocess.run([str(VENV_PY), "-c", code, str(data_dir)], env=env, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise BenchError(f"could not make the bench's owner: {done.stderr.strip()[-500:]}")


def nexus_settings(data_dir: Path, env: dict[str, str], key: str, value: str) -> None:
    # --data-dir belongs to the `settings` sub-command, before the action.
    cmd = [str(NEXUS), "settings", "--data-dir", str(data_dir), "set", key, value]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise BenchError(f"`nexus settings set {key}` failed: {done.stderr.strip() or done.stdout.strip()}")


def launch_once(name: str, cmd_for_port: Callable[[int], list[str]], env: dict[str, str], log_path: Path,
                *, attempts: int = 3) -> tuple[float, dict[str, Any]]:
    """One timed launch, then stop. Retries (bounded) only if the chosen port was taken."""
    for _ in range(attempts):
        port = free_port()
        proc, t0 = start(name, cmd_for_port(port), env, log_path)
        try:
            seconds = wait_first_200(proc, t0, port)
        except BenchError:
            stopped = stop(proc)
            if "already in use" in proc.log_tail():
                continue
            raise
        with contextlib.suppress(psutil.Error):  # CPU used to get there: far less load-sensitive than wall time
            cpu = psutil.Process(proc.pid).cpu_times()
            CPU_SECONDS.setdefault(name, []).append(cpu.user + cpu.system)
        proc.note_descendants()
        stopped = stop(proc)
        stopped["children_seen"] = sorted(proc.descendants.values())
        if stopped["exit_code"] not in (0, -signal.SIGTERM):
            raise BenchError(f"{name} exited with code {stopped['exit_code']} on SIGTERM:\n{proc.log_tail()}")
        return seconds, stopped
    raise BenchError(f"{name}: no free port after {attempts} attempts")


# --------------------------------------------------------------------------- benchmarks


def bench_cold_start(scratch: Path, runs: int) -> dict[str, Any]:
    env = base_env(scratch)
    logs = scratch / "logs"
    logs.mkdir(exist_ok=True)
    # Warm-up (not counted): compiles .pyc files and fills the page cache for both.
    warm_dir = scratch / "data-warmup"
    launch_once("flask_hello (warm-up)", flask_cmd, env, logs / "flask-warmup.log")
    launch_once("nexus (warm-up)", lambda p: nexus_cmd(p, warm_dir), env, logs / "nexus-warmup.log")

    flask_s: list[float] = []
    fresh_s: list[float] = []
    later_s: list[float] = []
    stops: list[dict[str, Any]] = []
    nexus_stops: list[dict[str, Any]] = []
    children_fresh: set[str] = set()
    children_later: set[str] = set()
    for i in range(runs):
        # Interleaved, so drift in machine load hits all three alike.
        s, st = launch_once("flask_hello", flask_cmd, env, logs / f"flask-{i}.log")
        flask_s.append(s)
        stops.append(st)

        data_dir = scratch / f"data-{i}"  # does not exist yet: Nexus creates it and migrates the store
        s, st = launch_once("nexus (fresh data dir)", lambda p: nexus_cmd(p, data_dir), env, logs / f"nexus-fresh-{i}.log")
        fresh_s.append(s)
        stops.append(st)
        nexus_stops.append(st)
        children_fresh.update(st["children_seen"])

        nexus_settings(data_dir, env, "server.autostart", "false")
        s, st = launch_once("nexus (existing data dir)", lambda p: nexus_cmd(p, data_dir), env, logs / f"nexus-later-{i}.log")
        later_s.append(s)
        stops.append(st)
        nexus_stops.append(st)
        children_later.update(st["children_seen"])
        print(f"  run {i + 1}/{runs}: flask {flask_s[-1]:.3f} s   nexus fresh {fresh_s[-1]:.3f} s   "
              f"nexus later {later_s[-1]:.3f} s", flush=True)

    med = {k: statistics.median(v) for k, v in (("flask", flask_s), ("fresh", fresh_s), ("later", later_s))}
    cpu = {k: statistics.median(CPU_SECONDS[name]) for k, name in (
        ("flask", "flask_hello"), ("fresh", "nexus (fresh data dir)"), ("later", "nexus (existing data dir)"))
        if CPU_SECONDS.get(name)}
    return {
        "runs": runs,
        "flask_hello_s": {"median": med["flask"], "all": flask_s},
        "nexus_first_launch_s": {"median": med["fresh"], "all": fresh_s, "ratio_to_flask": med["fresh"] / med["flask"],
                                 "note": "fresh data dir: creates the store and runs the migration; "
                                         "server.autostart is still true (the store is created by this launch) but "
                                         "no OpenCode binary is findable in the bench environment, so no child starts",
                                 "children_seen": sorted(children_fresh)},
        "nexus_later_launch_s": {"median": med["later"], "all": later_s, "ratio_to_flask": med["later"] / med["flask"],
                                 "note": "existing data dir, server.autostart false",
                                 "children_seen": sorted(children_later)},
        "cpu_s_to_first_200_median": {k: round(v, 3) for k, v in cpu.items()},
        "nexus_shutdown_s_median": statistics.median([s["stop_s"] for s in nexus_stops if "stop_s" in s]),
        "exit_codes": sorted({s["exit_code"] for s in stops}),
        "leftover_processes": [l for s in stops for l in s["leftovers"]],
    }


def _fake_llm_env(base_url: str, state_dir: Path, rg_dir: str | None) -> tuple[dict[str, str], str]:
    """OpenCode's offline env: tests/fakes/fake_llm.opencode_env if present, else the recipe's (§3)."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.fakes.fake_llm import opencode_env
        return opencode_env(base_url, str(state_dir), rg_dir), "tests.fakes.fake_llm.opencode_env"
    except ImportError:
        pass
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCODE_")}
    for name, var in (("home", "HOME"), ("config", "XDG_CONFIG_HOME"), ("data", "XDG_DATA_HOME"),
                      ("cache", "XDG_CACHE_HOME"), ("state", "XDG_STATE_HOME")):
        (state_dir / name).mkdir(parents=True, exist_ok=True)
        env[var] = str(state_dir / name)
    for flag in ("AUTOUPDATE", "MODELS_FETCH", "SHARE", "LSP_DOWNLOAD"):
        env[f"OPENCODE_DISABLE_{flag}"] = "1"
    env["OPENCODE_CONFIG_CONTENT"] = json.dumps({
        "autoupdate": False, "share": "disabled", "enabled_providers": ["fake"],
        "model": "fake/fake-model", "small_model": "fake/fake-model",
        "provider": {"fake": {"npm": "@ai-sdk/openai-compatible", "name": "Fake LLM",
                              "options": {"baseURL": base_url, "apiKey": "dummy"},
                              "models": {"fake-model": {"name": "Fake Model", "tool_call": True,
                                                        "limit": {"context": 100000, "output": 4096}}}}},
        "permission": {"bash": "ask"}})
    if rg_dir:
        env["PATH"] = os.pathsep.join([rg_dir, env.get("PATH", "")])
    return env, "bench/run.py's copy of the opencode-server recipe §3"


def _start_fake_llm():
    sys.path.insert(0, str(ROOT))
    try:
        from tests.fakes.fake_llm import FakeLLM
    except ImportError:
        return None
    return FakeLLM().start()


def _rss(pid: int) -> dict[str, float]:
    p = psutil.Process(pid)
    out = {"rss_mb": p.memory_info().rss / MB}
    with contextlib.suppress(psutil.Error):
        full = p.memory_full_info()
        out["uss_mb"] = full.uss / MB
        out["pss_mb"] = getattr(full, "pss", 0) / MB
    out["threads"] = p.num_threads()
    return {k: round(v, 1) for k, v in out.items()}


def bench_idle_rss(scratch: Path, idle: float) -> dict[str, Any]:
    env = base_env(scratch)
    logs = scratch / "logs"
    logs.mkdir(exist_ok=True)
    have_opencode = OPENCODE.is_file() and os.access(OPENCODE, os.X_OK)
    result: dict[str, Any] = {"idle_s": idle, "opencode_binary": str(OPENCODE) if have_opencode else None}
    fake = None
    procs: dict[str, tuple[Started, int]] = {}
    try:
        # 1. Nexus with the OpenCode child (or, without the binary, Nexus alone: labelled).
        main_dir = scratch / "rss-nexus"
        if have_opencode:
            fake = _start_fake_llm()
            base_url = fake.base_url if fake else "http://127.0.0.1:9/v1"  # no fake: OpenCode still idles
            rg_dir = str(VENV_BIN) if (VENV_BIN / "rg").exists() else None
            full_env, source = _fake_llm_env(base_url, scratch / "opencode-state", rg_dir)
            # server.env is laid over Nexus's own environment: store only what differs.
            # ... and never interpreter variables (PYTHON*, LD_*...): Nexus refuses them there.
            extra = {k: v for k, v in full_env.items() if env.get(k) != v and not k.startswith("PYTHON")}
            nexus_settings(main_dir, env, "server.binary", str(OPENCODE))
            nexus_settings(main_dir, env, "server.env", json.dumps(extra))
            nexus_settings(main_dir, env, "server.autostart", "true")
            nexus_open_locally(main_dir, env)  # the bench reads /api/server, which needs an owner
            result["opencode_env_from"] = source
            result["fake_llm"] = base_url if fake else "tests.fakes.fake_llm missing: no LLM behind OpenCode"
            result["rg"] = rg_dir
            label = "nexus (OpenCode child running)"
        else:
            nexus_settings(main_dir, env, "server.autostart", "false")
            label = "nexus (NO OpenCode: binary absent)"
        port = free_port()
        proc, t0 = start(label, nexus_cmd(port, main_dir), env, logs / "rss-nexus.log")
        procs["nexus"] = (proc, port)
        wait_first_200(proc, t0, port)

        # 2. Comparison points: Nexus without OpenCode, and the bare Flask app (same idle time).
        other_dir = scratch / "rss-nexus-alone"
        if have_opencode:
            nexus_settings(other_dir, env, "server.autostart", "false")
            p2 = free_port()
            proc2, t2 = start("nexus (no OpenCode)", nexus_cmd(p2, other_dir), env, logs / "rss-nexus-alone.log")
            procs["nexus_alone"] = (proc2, p2)
            wait_first_200(proc2, t2, p2)
        p3 = free_port()
        proc3, t3 = start("flask_hello", flask_cmd(p3), env, logs / "rss-flask.log")
        procs["flask"] = (proc3, p3)
        wait_first_200(proc3, t3, p3)

        if have_opencode:
            def running() -> dict[str, Any] | None:
                status, body = get(port, "/api/server")
                if status in (401, 403):
                    raise BenchError(f"/api/server answered {status}: {body[:200]!r}")
                data = json.loads(body) if status == 200 else {}
                if data.get("state") in ("gave-up", "crashed") and data.get("last_error"):
                    raise BenchError(f"OpenCode did not start: {data['last_error']}")
                return data if data.get("state") == "running" and data.get("pid") else None

            status = wait_until(running, 90, "OpenCode to be running under Nexus", 0.1)
            result["opencode_ready_s"] = round(time.perf_counter() - t0, 2)
            result["opencode_version"] = status.get("version")
            opencode_pid = status["pid"]
            children = [c.pid for c in psutil.Process(proc.pid).children()]
            if opencode_pid not in children:
                raise BenchError(f"OpenCode pid {opencode_pid} is not a child of Nexus {proc.pid} ({children})")

        # 3. Idle, sampling every second (bounded), then the figure at the end.
        samples: list[float] = []
        end = time.monotonic() + idle
        while time.monotonic() < end:
            for p, _ in procs.values():
                if p.popen.poll() is not None:
                    raise BenchError(f"{p.name} exited during the idle period:\n{p.log_tail()}")
                p.note_descendants()
            samples.append(round(psutil.Process(proc.pid).memory_info().rss / MB, 1))
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))

        result["nexus"] = {"label": label, **_rss(proc.pid), "rss_mb_samples": samples}
        if have_opencode:
            if not _alive(opencode_pid) or opencode_pid not in [c.pid for c in psutil.Process(proc.pid).children()]:
                raise BenchError("the OpenCode child is gone at the end of the idle period")
            result["opencode_child"] = {"pid": opencode_pid, **_rss(opencode_pid),
                                        "note": "for information; not part of the Nexus figure"}
            result["nexus_alone"] = {"label": "nexus (no OpenCode, autostart false)", **_rss(procs["nexus_alone"][0].pid)}
        result["flask_hello"] = {"label": "bare Flask hello-world", **_rss(proc3.pid)}
        result["ratio_to_flask"] = result["nexus"]["rss_mb"] / result["flask_hello"]["rss_mb"]
    finally:
        stops = {name: stop(p) for name, (p, _) in procs.items()}
        if fake is not None:
            fake.stop()
    result["stops"] = stops
    result["leftover_processes"] = [l for s in stops.values() for l in s["leftovers"]]
    return result


def bench_profile(scratch: Path) -> dict[str, Any] | None:
    cmd = [str(VENV_PY), str(BENCH / "profile_startup.py"), "--json", "--scratch", str(scratch / "profile")]
    try:
        done = subprocess.run(cmd, env=base_env(scratch), capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        return {"error": "profile_startup.py timed out"}
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-2000:]}
    return json.loads(done.stdout)


# --------------------------------------------------------------------------- report


def verdict(value: float, target: float) -> str:
    return "PASS" if value < target else "FAIL"


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    cs = results.get("cold_start")
    if cs:
        f = cs["flask_hello_s"]["median"]
        for key, label in (("nexus_first_launch_s", "Cold start, first launch (fresh data dir)"),
                           ("nexus_later_launch_s", "Cold start, later launch (existing data dir)")):
            v = cs[key]["median"]
            spread = f"{min(cs[key]['all']):.2f}-{max(cs[key]['all']):.2f}"
            rows.append((label, f"{v:.3f} s ({spread})", f"< {TARGETS['cold_start_s']:g} s",
                         verdict(v, TARGETS["cold_start_s"]), f"{v / f:.2f}x flask"))
            rows.append(("  ratio to bare Flask hello", f"{v / f:.2f}", f"< {TARGETS['cold_start_ratio']:g}",
                         verdict(v / f, TARGETS["cold_start_ratio"]), ""))
        spread = f"{min(cs['flask_hello_s']['all']):.2f}-{max(cs['flask_hello_s']['all']):.2f}"
        rows.append(("Cold start, bare Flask hello (comparison)", f"{f:.3f} s ({spread})", "-", "-", "1.00x"))
        c = cs.get("cpu_s_to_first_200_median", {})
        if {"flask", "fresh", "later"} <= c.keys():
            rows.append(("CPU time to first 200, first / later launch", f"{c['fresh']:.3f} / {c['later']:.3f} s", "-",
                         "-", f"{c['fresh'] / c['flask']:.2f}x / {c['later'] / c['flask']:.2f}x"))
            rows.append(("CPU time to first 200, bare Flask hello", f"{c['flask']:.3f} s", "-", "-", "1.00x"))
        rows.append(("Nexus SIGTERM to exit (median)", f"{cs['nexus_shutdown_s_median']:.3f} s", "-", "-", ""))
    rss = results.get("idle_rss")
    if rss:
        n = rss["nexus"]
        rows.append((f"Idle RSS, {n['label']}", f"{n['rss_mb']:.1f} MB", f"< {TARGETS['idle_rss_mb']:g} MB",
                     verdict(n["rss_mb"], TARGETS["idle_rss_mb"]), f"{rss['ratio_to_flask']:.2f}x flask"))
        if "uss_mb" in n:
            rows.append(("  of which private (USS)", f"{n['uss_mb']:.1f} MB", "-", "-", ""))
        if "nexus_alone" in rss:
            a = rss["nexus_alone"]
            rows.append(("Idle RSS, nexus without OpenCode", f"{a['rss_mb']:.1f} MB", "-", "-",
                         f"{a['rss_mb'] / rss['flask_hello']['rss_mb']:.2f}x flask"))
        rows.append(("Idle RSS, bare Flask hello (comparison)", f"{rss['flask_hello']['rss_mb']:.1f} MB", "-", "-", "1.00x"))
        if "opencode_child" in rss:
            rows.append(("Idle RSS, OpenCode child (info only)", f"{rss['opencode_child']['rss_mb']:.1f} MB", "-", "-", ""))
            rows.append(("Nexus launch to OpenCode running", f"{rss['opencode_ready_s']:.2f} s", "-", "-", ""))
    header = ("Figure (cold start: median, min-max)", "Measured", "Target", "Result", "vs comparison")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), line]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def profile_summary(profile: dict[str, Any]) -> str:
    if "error" in profile:
        return f"start-up profile failed: {profile['error']}"
    out = ["Where a later launch's start-up time goes (in-process, median of runs):"]
    for name, seconds in profile["phases_existing"].items():
        out.append(f"  {name:<58} {seconds * 1000:7.0f} ms")
    out.append(f"  (fresh data dir: Runtime.open takes {profile['phases_fresh']['Runtime.open'] * 1000:.0f} ms)")
    out.append("Costliest imports (cumulative, -X importtime, imported by `nexus serve`):")
    for row in profile["top_imports"][:12]:
        out.append(f"  {row['module']:<40} {row['cumulative_ms']:7.1f} ms   (via {row['parent']})")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Nexus benchmarks: cold start, idle RSS, start-up profile.")
    parser.add_argument("--runs", type=int, default=5, help="launches per cold-start figure (default 5)")
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds before reading RSS (default 10)")
    parser.add_argument("--only", choices=("cold", "rss", "profile", "relay", "logs", "long"), action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--relay-sessions", type=int, default=10, help="relay: sessions streaming at once (default 10)")
    parser.add_argument("--relay-rounds", type=int, default=3, help="relay: measured rounds (default 3)")
    parser.add_argument("--relay-chunks", type=int, default=200, help="relay: deltas per session per round (default 200)")
    parser.add_argument("--long-runs", type=int, default=7, help="long session: page loads measured (default 7)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch dir (logs, data dirs)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = parser.parse_args(argv)
    if not NEXUS.exists():
        raise SystemExit(f"{NEXUS} not found: install Nexus into the venv first")
    parts = args.only or ["cold", "rss", "profile", "relay", "logs", "long"]

    scratch = Path(tempfile.mkdtemp(prefix="nexus-bench-"))
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "memory_mb": round(psutil.virtual_memory().total / MB)},
        "targets": TARGETS,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    failed = False
    try:
        if "cold" in parts:
            print(f"Cold start ({args.runs} runs each, plus one warm-up)...", flush=True)
            results["cold_start"] = bench_cold_start(scratch, args.runs)
        if "rss" in parts:
            print(f"Idle RSS ({args.idle:g} s idle)...", flush=True)
            results["idle_rss"] = bench_idle_rss(scratch, args.idle)
        if "profile" in parts:
            print("Start-up profile...", flush=True)
            results["startup_profile"] = bench_profile(scratch)
        if "relay" in parts:  # bench/relay.py: OpenCode's stream -> Nexus -> WebSocket, 10 sessions at once
            print(f"Relay overhead ({args.relay_sessions} sessions streaming at once)...", flush=True)
            import relay
            results["relay"] = relay.bench_relay(scratch / "relay", sessions=args.relay_sessions,
                                                 rounds=args.relay_rounds, chunks=args.relay_chunks)
        if "logs" in parts:  # bench/log_tail.py: the logs page on a 1 GB log file
            print("Log tail (1 GB log: open the logs page's first call, then a live line)...", flush=True)
            import log_tail
            results["log_tail"] = log_tail.bench_log_tail(scratch / "log_tail")
        if "long" in parts:  # bench/long_session.py: a 2,000-message session opened in Chromium
            print("Long session (2,000 messages, last message visible; the trivial page's paint beside it)...",
                  flush=True)
            import long_session
            results["long_session"] = long_session.bench_long_session(runs=args.long_runs)
    except (BenchError, KeyboardInterrupt) as exc:
        failed = True
        results["error"] = str(exc)
        print(f"\nbench: {exc}", file=sys.stderr)
    finally:
        stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    verdicts = {}
    if "cold_start" in results:
        cs = results["cold_start"]
        for key in ("nexus_first_launch_s", "nexus_later_launch_s"):
            verdicts[f"{key}.median < {TARGETS['cold_start_s']}"] = cs[key]["median"] < TARGETS["cold_start_s"]
            verdicts[f"{key}.ratio_to_flask < {TARGETS['cold_start_ratio']}"] = (
                cs[key]["ratio_to_flask"] < TARGETS["cold_start_ratio"])
    if "idle_rss" in results and "nexus" in results["idle_rss"]:
        verdicts[f"idle_rss.nexus.rss_mb < {TARGETS['idle_rss_mb']}"] = (
            results["idle_rss"]["nexus"]["rss_mb"] < TARGETS["idle_rss_mb"])
    verdicts.update(results.get("relay", {}).get("verdicts", {}))
    verdicts.update(results.get("log_tail", {}).get("verdicts", {}))
    if "long_session" in results:
        ls = results["long_session"]
        verdicts[f"long_session.last_message_visible <= {ls['target_ratio']:g} x the trivial page's paint"] = (
            ls["met_ratio"])
        verdicts[f"long_session.last_message_visible < {ls['target_ms']:g} ms"] = ls["met_ms"]
    results["verdicts"] = verdicts
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    # Other benches keep their figures in the same file (bench/chaos.py: "chaos"): kept.
    try:
        kept = {k: v for k, v in json.loads(args.out.read_text()).items() if k in OTHER_BENCHES}
    except (OSError, ValueError):
        kept = {}
    args.out.write_text(json.dumps({**results, **kept}, indent=2) + "\n")

    print()
    print(table(results))
    if results.get("startup_profile"):
        print()
        print(profile_summary(results["startup_profile"]))
    if results.get("relay"):
        import relay
        print()
        print(relay.table(results["relay"]))
    if results.get("log_tail"):
        import log_tail
        print()
        print(log_tail.table(results["log_tail"]))
    if results.get("long_session"):
        import long_session
        print()
        print(long_session.summary(results["long_session"]))
    leftovers = (results.get("cold_start", {}).get("leftover_processes", [])
                 + results.get("idle_rss", {}).get("leftover_processes", [])
                 + results.get("relay", {}).get("leftover_processes", [])
                 + results.get("log_tail", {}).get("leftover_processes", []))
    print(f"\nLeftover processes after SIGTERM: {leftovers or 'none'}")
    print(f"Results written to {args.out}")
    if failed:
        return 2
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
