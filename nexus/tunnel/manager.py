"""The Cloudflare tunnel: one cloudflared child that Nexus starts, watches and stops itself.

Why not pycloudflared's `try_cloudflare`: it reads at most 50 stderr lines and then never
again (the pipe fills up and blocks cloudflared on a long-running tunnel) and has no
timeout. Here stderr is pumped into the log for the whole life of the process, the metrics
port is pinned (`--metrics 127.0.0.1:PORT`) and asked for the quick tunnel's hostname
(`/quicktunnel`) and readiness (`/ready`), with the log line as the fallback for the URL.

cloudflared writes its log to stderr but its usage errors to stdout (with exit code 0!), so
both go into one pipe: a command line the installed version rejects is said as such.

When no cloudflared is installed, the tunnel thread first downloads Nexus's own copy into
the data dir (`binary.py`); without internet that fails with a plain message saying how to
point `tunnel.binary` at an installed cloudflared.

Threads (all owned here, all joined by `stop()`): `nexus-tunnel` runs the state machine,
`cloudflared-stderr-PID` pumps the child's output. States: off, starting, connected, error.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from nexus.errors import ServiceError
from nexus.server.backoff import Backoff
from nexus.tunnel.binary import CloudflaredNotFound, cloudflared_version, download_cloudflared, find_cloudflared
from nexus.tunnel.qr import qr_svg

if TYPE_CHECKING:
    from nexus.settings import Settings  # typed reads only: no import at run time

log = logging.getLogger("nexus.tunnel")
child_log = logging.getLogger("nexus.cloudflared")

TOKEN_SECRET = "tunnel.token"
QUICK_URL = re.compile(r"https://[a-z0-9-]+\.trycloudflare\.com")
METRICS_LINE = re.compile(r"Starting metrics server on (127\.0\.0\.1:\d+)/metrics")
INGRESS_HOST = re.compile(r'\\?"hostname\\?"\s*:\s*\\?"([A-Za-z0-9.-]+)\\?"')
USAGE_ERROR = re.compile(r"Incorrect Usage[.:]?\s*(.*)")
BUILD_VERSION = re.compile(r'^build_info\{[^}]*version="([^"]+)"', re.M)  # cloudflared's /metrics
NETWORK_FAILURES = ("failed to request quick Tunnel", "dial tcp", "no such host", "edge discovery",
                    "Could not lookup srv records", "failed to dial to edge", "server misbehaving")
# cloudflared says `status_code="429 Too Many Requests"`; a bare "429" also occurs in ports
# and connector IDs on its settings lines (metrics:127.0.0.1:40429), so match the phrase.
RATE_LIMITED = re.compile(r"Too Many Requests|error code: 1015")
POLL_SECONDS = 0.25
WATCH_SECONDS = 2.0


class TunnelError(ServiceError, RuntimeError):
    """The tunnel cannot be started; the message says why in plain words."""

    status, code = 503, "tunnel_unavailable"


def plain_reason(lines: list[str], exit_code: int | None) -> str:
    """cloudflared's last words, said so that a person knows what to do."""
    text = "\n".join(lines[-15:])
    usage = next((m for m in map(USAGE_ERROR.search, lines) if m), None)
    if usage:
        return (f"cloudflared refused the command line Nexus gave it ({usage.group(1).strip() or 'usage error'}). "
                "This cloudflared may be too old or too new for Nexus: point tunnel.binary at a current one.")
    if "Provided Tunnel token is not valid" in text or ("tunnel token" in text.lower() and "invalid" in text.lower()):
        return "The tunnel token is not valid. Copy it again from the Cloudflare dashboard (Networking > Tunnels)."
    if RATE_LIMITED.search(text):
        return "Cloudflare is limiting quick tunnels right now. Try again in a few minutes, or use a named tunnel."
    if any(failure in text for failure in NETWORK_FAILURES):
        return ("cloudflared could not reach Cloudflare (no internet connection, DNS failure or a firewall). "
                "Check the connection; on networks that block UDP choose the HTTP/2 protocol.")
    last = next((line for line in reversed(lines) if line.strip()), "")
    code = f" (exit code {exit_code})" if exit_code is not None else ""
    return f"cloudflared stopped{code}" + (f": {last.strip()[:300]}" if last else ".")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TunnelManager:
    def __init__(self, settings: Settings, secrets: Any, data_dir: Path, *, bus: Any = None, audit: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._secrets = secrets
        self._data_dir = data_dir
        self._bus = bus
        self._audit = audit
        self._clock = clock
        self._lock = threading.RLock()
        self._origin: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None
        self._lines: deque[str] = deque(maxlen=60)
        self._usage_line = ""
        self._state = "off"
        self._reason = ""
        self._url: str | None = None
        self._observed_host: str | None = None
        self._log_url: str | None = None
        self._metrics: str | None = None
        self._mode = "off"
        self._restarts = 0
        self._connected_at: float | None = None
        self._binary: str | None = None
        self._version: str | None = None
        self._connections: int | None = None  # connections registered with Cloudflare's edge (/ready)

    # --- configuration -------------------------------------------------------------------
    def set_origin(self, url: str) -> None:
        """Where Nexus's web server listens (http://127.0.0.1:PORT): what the tunnel forwards to."""
        self._origin = url

    def allowed_hosts(self) -> set[str]:
        """Host headers Nexus answers besides loopback: the tunnel's public name(s)."""
        hosts = {h.lower() for h in (self._settings.current.tunnel.hostname, self._observed_host) if h}
        if self._url:
            hosts.add((urlsplit(self._url).hostname or "").lower())
        return hosts - {""}

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self._state, "reason": self._reason, "mode": self._mode if self._state != "off"
                else self._settings.current.tunnel.mode, "url": self._url, "pid": self._proc.pid if self._proc else None,
                "metrics": self._metrics, "restarts": self._restarts, "binary": self._binary,
                "version": self._version, "connections": self._connections,
                "protocol": self._settings.current.tunnel.protocol,
                "connected_since": time.time() - (self._clock() - self._connected_at)
                if self._connected_at is not None and self._state == "connected" else None,
                "has_token": self._has_token(),
            }

    def _has_token(self) -> bool:
        try:
            return self._secrets.get(TOKEN_SECRET) is not None
        except Exception:
            return False

    def qr_svg(self) -> str | None:
        url = self._url
        return qr_svg(url) if url else None

    # --- start / stop ----------------------------------------------------------------------
    def check(self, mode: str | None = None) -> tuple[str, str | None, str | None]:
        """What a start would run: (mode, binary, token) or TunnelError with the reason. The
        binary is None when none is installed: the start downloads Nexus's own copy first."""
        mode = mode or self._settings.current.tunnel.mode
        if mode not in ("quick", "named"):
            raise TunnelError("Remote access is off. Choose a quick or a named tunnel first.")
        if not self._origin:
            raise TunnelError("Nexus's web server is not running, so there is nothing to forward to.")
        binary: str | None
        try:
            binary, _source = find_cloudflared(self._settings.current.tunnel.binary, self._data_dir)
        except CloudflaredNotFound as exc:
            if self._settings.current.tunnel.binary:  # the owner named a file that is not there: say so, fetch nothing
                raise TunnelError(str(exc)) from exc
            binary = None
        token = None
        if mode == "named":
            token = self._secrets.get(TOKEN_SECRET)
            if not token:
                raise TunnelError("A named tunnel needs its token: paste it in the tunnel settings.")
            if not self._settings.current.tunnel.hostname:
                raise TunnelError("A named tunnel needs its public hostname (e.g. nexus.example.com).")
        return mode, binary, token

    def start(self, mode: str | None = None) -> dict[str, Any]:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self.status()
            try:
                mode, binary, token = self.check(mode)
            except TunnelError as exc:
                self._set("error", str(exc))
                raise
            self._mode, self._binary, self._version, self._connections = mode, binary, None, None
            self._stop.clear()
            self._restarts = 0
            self._url = self._observed_host = self._log_url = None
            self._set("starting", "")
            self._thread = threading.Thread(target=self._run, args=(mode, binary, token), name="nexus-tunnel",
                                            daemon=True)
            self._thread.start()
        return self.status()

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            thread = self._thread
            was_running = thread is not None and thread.is_alive()
            self._stop.set()
        self._kill_child()
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            self._thread = None
            self._url = None
            self._connected_at = None
            self._set("off", "")
        if was_running and self._audit is not None:
            self._audit.record("tunnel-stopped", detail=self._mode)

    def wait_for(self, states: set[str], timeout: float) -> str:
        deadline = self._clock() + timeout
        while self._state not in states and self._clock() < deadline:
            time.sleep(0.05)
        return self._state

    # --- the state machine (thread nexus-tunnel) --------------------------------------------
    def _run(self, mode: str, binary: str | None, token: str | None) -> None:
        if binary is None:
            binary = self._download()
            if binary is None:
                return
        self._binary, self._version = binary, cloudflared_version(binary)
        backoff = Backoff(1.0, 2.0, 60.0, self._settings.current.tunnel.restart_max_attempts, 120.0, self._clock)
        while not self._stop.is_set():
            started = self._clock()
            connected = False
            try:
                connected = self._spawn_and_watch(mode, binary, token, backoff)
            except Exception as exc:  # a bug here must show up as an error state, not a dead thread
                log.exception("tunnel failed")
                self._set("error", f"The tunnel failed: {exc}")
            self._kill_child()
            if self._stop.is_set():
                return
            if connected:
                backoff.note_running_since(started)
            delay = backoff.next_delay()
            if delay is None:
                self._set("error", f"{self._reason} Gave up after {self._restarts} restarts; start it again "
                                   "when the problem is fixed.".strip())
                if self._audit is not None:
                    self._audit.record("tunnel-error", detail=self._reason)
                return
            log.warning("cloudflared restarts in %.1f s (%s)", delay, self._reason)
            if self._stop.wait(delay):
                return
            self._restarts += 1
            self._set("starting", f"Restarting (attempt {self._restarts}) after: {self._reason}")

    def _download(self) -> str | None:
        """Nexus's own copy of cloudflared, fetched once into the data dir; None (and the error
        state with what to do) when that fails, e.g. without internet."""
        self._set("starting", "Downloading cloudflared (once; it needs internet)…")
        try:
            path = download_cloudflared(self._data_dir)
        except CloudflaredNotFound as exc:
            self._set("error", str(exc))
            if self._audit is not None:
                self._audit.record("tunnel-error", detail="cloudflared download failed")
            return None
        log.info("cloudflared downloaded to %s", path)
        return None if self._stop.is_set() else path

    def _spawn_and_watch(self, mode: str, binary: str, token: str | None, backoff: Backoff) -> bool:
        metrics_port = free_port()
        self._metrics = f"127.0.0.1:{metrics_port}"
        args = [binary, "tunnel", "--no-autoupdate", "--metrics", self._metrics]
        if self._settings.current.tunnel.protocol != "auto":
            args += ["--protocol", self._settings.current.tunnel.protocol]
        env = dict(os.environ)
        env.pop("TUNNEL_TOKEN", None)
        if mode == "quick":
            args += ["--url", self._origin or ""]
        else:
            args += ["run"]
            env["TUNNEL_TOKEN"] = token or ""  # by environment: a command line is visible to every user in `ps`
        self._lines.clear()
        self._usage_line = ""
        kwargs: dict[str, Any] = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        else:
            kwargs["start_new_session"] = True
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env, **kwargs)
        with self._lock:
            self._proc = proc
        log.info("cloudflared %s started (pid %s, %s tunnel, metrics %s)", self._version or "(version unknown)",
                 proc.pid, mode, self._metrics)
        self._pump = threading.Thread(target=self._pump_stderr, args=(proc,), name=f"cloudflared-stderr-{proc.pid}",
                                      daemon=True)
        self._pump.start()

        deadline = self._clock() + self._settings.current.tunnel.start_timeout
        connected = False
        next_check = 0.0
        version_read = False
        while not self._stop.is_set():
            code = proc.poll()
            if code is not None:
                self._pump.join(2)
                self._connected_at = None
                self._set("error", plain_reason(self._last_words(), code))
                return connected
            now = self._clock()
            if now >= next_check:
                ready, self._connections = self._ready()
                if not version_read and self._connections is not None:
                    version_read = True  # what runs, from its own metrics (the file may have changed since)
                    match = BUILD_VERSION.search(self._get("/metrics") or "")
                    self._version = match.group(1) if match else self._version
                if not connected:
                    url = self._public_url(mode)
                    if url and not ready and self._state == "starting":
                        self._set("starting", f"Waiting for Cloudflare's edge to connect {url}…")
                    if ready and url:
                        connected = True
                        self._url = url
                        self._connected_at = now
                        self._set("connected", "")
                        if self._restarts == 0 and self._audit is not None:
                            self._audit.record("tunnel-started", detail=f"{mode} {url}")
                    elif now >= deadline:
                        self._set("error", f"cloudflared did not connect within "
                                           f"{self._settings.current.tunnel.start_timeout:g} s. "
                                  + (plain_reason(self._last_words(), None) if self._lines else ""))
                        return False
                else:
                    backoff.note_running_since(self._connected_at or now)
                    if not ready and self._state == "connected":
                        self._set("starting", "Reconnecting to Cloudflare…")
                    elif ready and self._state != "connected":
                        self._set("connected", "")
                next_check = now + (POLL_SECONDS if not connected else WATCH_SECONDS)
            self._stop.wait(0.05)
        return connected

    def _public_url(self, mode: str) -> str | None:
        if mode == "quick":
            info = self._get("/quicktunnel")
            if info:
                try:
                    host = json.loads(info).get("hostname")
                except ValueError:
                    host = None
                if host:
                    return f"https://{host}"
            return self._log_url  # fallback: the URL in cloudflared's banner
        host = self._settings.current.tunnel.hostname or self._observed_host
        return f"https://{host}" if host else None

    def _last_words(self) -> list[str]:
        """The output kept for the error message; a usage error's first line is kept apart,
        since the help text after it is longer than the window of lines kept."""
        return ([self._usage_line] if self._usage_line else []) + list(self._lines)

    def _ready(self) -> tuple[bool, int | None]:
        """cloudflared's /ready: (ready, connections registered with Cloudflare's edge); the
        count is None while its metrics server does not answer. It answers 503 until ready."""
        import urllib.error  # with urllib.request (see _open): when a tunnel runs, not at start

        try:
            with _open(f"http://{self._metrics}/ready") as res:
                status, body = res.status, res.read(4096)
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read(4096)
        except (urllib.error.URLError, OSError, ValueError):
            return False, None
        try:
            connections = int(json.loads(body).get("readyConnections", 0))
        except (ValueError, TypeError, AttributeError):
            connections = None
        return status == 200, connections

    def _get(self, path: str) -> str | None:
        """GET on cloudflared's metrics server: the body on 200, else None."""
        import urllib.error

        try:
            with _open(f"http://{self._metrics}{path}") as res:
                return res.read(64 * 1024).decode("utf-8", "replace") if res.status == 200 else None
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def _pump_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:  # until the child closes it: the pipe never fills up
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            self._lines.append(line)
            if USAGE_ERROR.search(line) and not self._usage_line:
                self._usage_line = line
            level = logging.WARNING if " ERR " in line or " WRN " in line else logging.INFO
            child_log.log(level, "%s", line, extra={"source": "cloudflared"})
            match = QUICK_URL.search(line)
            if match and "api.trycloudflare.com" not in match.group(0):
                self._log_url = match.group(0)
            match = METRICS_LINE.search(line)
            if match:
                self._metrics = match.group(1)
            if "Updated to new configuration" in line:
                match = INGRESS_HOST.search(line)
                if match:
                    self._observed_host = match.group(1).lower()
        proc.stdout.close()

    def _kill_child(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                if sys.platform == "win32":
                    proc.terminate()
                else:
                    os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(5)
            except (subprocess.TimeoutExpired, ProcessLookupError, PermissionError):
                try:
                    if sys.platform == "win32":
                        proc.kill()
                    else:
                        os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                proc.wait(5)
        if self._pump is not None:
            self._pump.join(5)
            self._pump = None
        log.info("cloudflared stopped (pid %s, exit code %s)", proc.pid, proc.returncode)

    def _set(self, state: str, reason: str) -> None:
        with self._lock:
            changed = (state, reason) != (self._state, self._reason)
            self._state, self._reason = state, reason
        if changed:
            if state == "error":
                log.warning("tunnel: %s", reason)
            if self._bus is not None:
                self._bus.publish("tunnel.state", **self.status())


def _open(url: str) -> Any:
    """GET with a 1 s timeout. urllib.request is imported here, when a tunnel runs: at module
    level it was ~10 ms of every start (http.client, email)."""
    import urllib.request

    return urllib.request.urlopen(url, timeout=1)
