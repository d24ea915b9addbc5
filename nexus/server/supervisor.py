"""The supervisor: keeps the user's OpenCode server running, or says plainly why not.

One monitor thread (`nexus-supervisor`) owns the watching: it notices a dead process
within a tick, runs health checks, and carries out restarts with exponential backoff.
Commands from the UI (start, stop, restart) and the monitor take the same lifecycle lock,
so they never race each other; status reads never wait on that lock.

States and what moves between them:

    stopped --start--> starting --ready--> running <--healthy-- unhealthy
    running --process died--> crashed --> backing-off --delay--> starting
    running --N failed health checks--> unhealthy --> backing-off
    backing-off --max attempts--> gave-up          any --stop--> stopping --> stopped

Every change is published on the bus as `server.state`, and every restart is recorded in
the store with its reason, exit code, attempt number and outcome.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexus.bus import EventBus
from nexus.errors import ServiceError
from nexus.logs.redaction import register_secret
from nexus.server.backoff import Backoff
from nexus.server.binary import BinaryNotFound, find_opencode
from nexus.server.child_record import ChildRecord, fingerprint
from nexus.server.client import OpenCodeClient, OpenCodeError, RequestCounters
from nexus.server.process import AdoptedProcess, Launcher, OpenCodeProcess, StartError
from nexus.server.repository import RestartRepository
from nexus.server.state import ServerState
from nexus.settings import Settings

log = logging.getLogger(__name__)

TICK = 0.2
# The least CPU time (seconds) a process must have used between two health checks to count
# as working: one clock tick of the kernel's accounting (10 ms at USER_HZ 100).
CPU_TICK = 0.01
# The password of an OpenCode server Nexus attaches to (set by the user) lives in the secret
# store. A server Nexus starts gets a fresh random password per start, held only in memory:
# nothing to store, nothing to leak.
ATTACH_PASSWORD_SECRET = "opencode.attach_password"
# Settings whose change needs a restart of OpenCode to take effect.
_SPAWN_SETTINGS = ("server.binary", "server.workspace", "server.url", "server.protect", "server.env")


class ServerError(ServiceError, RuntimeError):
    """A start, stop or restart the user asked for could not be done; the message says why."""

    status, code = 503, "server_failed"


class NotRunning(ServerError):
    pass


class Supervisor:
    def __init__(self, settings: Settings, bus: EventBus, restarts: RestartRepository, default_workspace: Path,
                 *, clock: Callable[[], float] = time.monotonic,
                 process_factory: Callable[..., OpenCodeProcess] = OpenCodeProcess,
                 attach_password: Callable[[], str | None] = lambda: None,
                 child_record: ChildRecord | None = None) -> None:
        self._settings = settings
        self._bus = bus
        self._restarts = restarts
        self._default_workspace = default_workspace
        self._clock = clock
        self._process_factory = process_factory
        self._attach_password = attach_password
        self._child_record = child_record
        self.counters = RequestCounters()
        self._launcher = Launcher()  # forks a child that dies with Nexus (server.adopt_after_crash off)

        self._lifecycle = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

        self._state = ServerState.STOPPED
        self._want_running = False
        self._process: OpenCodeProcess | AdoptedProcess | None = None
        self._client: OpenCodeClient | None = None
        self._backoff = self._new_backoff()
        self._next_attempt_at: float | None = None
        self._pending_restart_id: int | None = None
        self._started_at: float | None = None  # on self._clock
        self._started_wall: float | None = None
        self._next_health_at = 0.0
        self._health_failures = 0
        self._restart_count = 0
        self._cpu_seen: tuple[int, float] | None = None  # (pid, CPU seconds) at the last health check
        self._slow_since: float | None = None  # when failed checks of a working process began
        self._spawn_config: dict[str, Any] | None = None

        self._status_lock = threading.Lock()
        self._info: dict[str, Any] = {"url": None, "pid": None, "version": None, "binary": None,
                                      "last_error": None, "last_exit_code": None, "mode": "managed"}

    # ----- lifecycle of the supervisor itself -------------------------------------------

    def start_background(self) -> None:
        """Start the monitor thread; with `server.autostart` it brings OpenCode up too."""
        if self._thread is not None:
            return
        self._stopping.clear()
        if self._settings.current.server.autostart:
            self._want_running = True
        if self._child_record is not None:
            with self._lifecycle:
                if not (self._want_running and self._settings.current.server.adopt_after_crash
                        and self._adopt_survivor()):
                    self._child_record.reap()
        self._thread = threading.Thread(target=self._monitor, name="nexus-supervisor", daemon=True)
        self._thread.start()

    def shutdown(self, timeout: float = 15.0) -> None:
        """Stop OpenCode and the monitor thread. Safe to call twice."""
        self._stopping.set()
        self._wake.set()
        # A start in progress holds the lifecycle lock while it waits for OpenCode (up to
        # `server.start_timeout`): end that process now, without the lock, so the wait ends.
        starting = self._process
        if starting is not None and self._state == ServerState.STARTING:
            starting.stop(1.0)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._lifecycle:
            self._want_running = False
            self._terminate()
            self._set_state(ServerState.STOPPED, reason="Nexus is shutting down")
        self._launcher.stop()

    def _adopt_survivor(self) -> bool:
        """Carry on with the OpenCode a killed Nexus left running, if it answers and was
        started with today's settings: its replies go on. Lifecycle lock held."""
        assert self._child_record is not None
        config = self._current_spawn_config()
        if config["url"]:
            return False
        survivor = self._child_record.survivor(fingerprint(config))
        if survivor is None:
            return False
        register_secret(survivor.password)
        client = OpenCodeClient(survivor.url, password=survivor.password, counters=self.counters)
        try:
            body = client.health(timeout=max(2.0, self._settings.current.server.health_timeout))
            process = AdoptedProcess(survivor.pid, survivor.url)
        except Exception as exc:
            log.warning("the OpenCode left running (pid %d) does not answer (%s); stopping it", survivor.pid, exc)
            client.close()
            return False
        self._set_state(ServerState.STARTING, reason="adopting the OpenCode an earlier Nexus left running")
        self._process, self._client = process, client
        self._spawn_config = config
        self._started_at = self._clock()
        self._started_wall = time.time()
        self._next_health_at = self._clock() + self._settings.current.server.health_interval
        self._health_failures = 0
        self._cpu_seen, self._slow_since = None, None
        self._note_cpu()
        with self._status_lock:
            self._info.update(url=client.base_url, pid=survivor.pid, mode="managed", version=body.get("version"),
                              binary=config["binary"] or None, last_error=None)
        log.info("adopted OpenCode %s at %s (pid %d), left running by a Nexus that was killed",
                 body.get("version") or "", client.base_url, survivor.pid)
        self._set_state(ServerState.RUNNING, reason="adopted after a crash of Nexus")
        return True

    # ----- commands ----------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        with self._lifecycle:
            if self._state in (ServerState.RUNNING, ServerState.UNHEALTHY, ServerState.STARTING):
                return self.status()
            self._cancel_pending_restart("superseded by a manual start")
            self._backoff = self._new_backoff()
            self._terminate()
            try:
                self._bring_up()
            except (BinaryNotFound, StartError, OpenCodeError) as exc:
                self._want_running = False
                self._fail(ServerState.STOPPED, str(exc))
                raise ServerError(str(exc)) from exc
            self._want_running = True
            return self.status()

    def stop(self) -> dict[str, Any]:
        with self._lifecycle:
            self._want_running = False
            self._cancel_pending_restart("cancelled by stop")
            if self._state != ServerState.STOPPED:
                self._set_state(ServerState.STOPPING, reason="stop requested")
            self._terminate()
            self._set_state(ServerState.STOPPED, reason="stopped by the user")
            return self.status()

    def restart(self, reason: str = "manual") -> dict[str, Any]:
        with self._lifecycle:
            self._cancel_pending_restart("superseded by a manual restart")
            self._backoff = self._new_backoff()
            restart_id = self._restarts.add(reason=reason, detail="restart requested")
            self._terminate()
            try:
                self._bring_up(on_ready=lambda: self._restart_succeeded(restart_id))
            except (BinaryNotFound, StartError, OpenCodeError) as exc:
                self._restarts.set_outcome(restart_id, "failed", str(exc))
                self._want_running = False
                self._fail(ServerState.STOPPED, str(exc))
                raise ServerError(str(exc)) from exc
            self._want_running = True
            return self.status()

    # ----- what others read ----------------------------------------------------------------

    @property
    def state(self) -> ServerState:
        return self._state

    @property
    def client(self) -> OpenCodeClient:
        client = self._client
        if client is None or self._state not in (ServerState.RUNNING, ServerState.UNHEALTHY):
            raise NotRunning(f"The OpenCode server is {self._state.value}.")
        return client

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    @property
    def restart_count(self) -> int:
        return self._restart_count

    def uptime(self) -> float:
        started = self._started_at
        if started is None or self._state not in (ServerState.RUNNING, ServerState.UNHEALTHY):
            return 0.0
        return max(0.0, self._clock() - started)

    def status(self) -> dict[str, Any]:
        with self._status_lock:
            info = dict(self._info)
        next_at = self._next_attempt_at
        info.update(
            state=self._state.value,
            uptime=round(self.uptime(), 1),
            started_at=self._started_wall if self._state in (ServerState.RUNNING, ServerState.UNHEALTHY) else None,
            restarts=self._restart_count,
            attempt=self._backoff.attempts,
            max_attempts=self._backoff.max_attempts,
            next_attempt_in=round(max(0.0, next_at - self._clock()), 1) if next_at is not None else None,
            health_failures=self._health_failures,
            protected=bool(self._spawn_config and self._spawn_config.get("protected")),
            restart_required=self._restart_required(),
        )
        return info

    def history(self, limit: int = 50, before_id: int | None = None) -> list[dict[str, Any]]:
        return [r.to_json() for r in self._restarts.recent(limit, before_id)]

    # ----- the monitor -------------------------------------------------------------------------

    def _monitor(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(TICK)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                with self._lifecycle:
                    self._tick()
            except Exception:  # the monitor must outlive any one bad tick
                log.exception("supervisor tick failed")

    def _tick(self) -> None:
        state = self._state
        if state in (ServerState.RUNNING, ServerState.UNHEALTHY):
            process = self._process
            if process is not None and (code := process.poll()) is not None:
                self._on_exit(code)
                return
            if self._clock() >= self._next_health_at:
                self._check_health()
            if self._started_at is not None:
                self._backoff.note_running_since(self._started_at)
        elif state == ServerState.BACKING_OFF:
            if self._next_attempt_at is not None and self._clock() >= self._next_attempt_at:
                self._attempt_restart()
        elif state in (ServerState.STOPPED, ServerState.CRASHED) and self._want_running:
            self._first_start()

    def _first_start(self) -> None:
        """Autostart at launch. A failure here is handled like a crash (retry with backoff),
        except a missing binary, which no retry can fix."""
        try:
            self._bring_up()
        except BinaryNotFound as exc:
            self._want_running = False
            self._fail(ServerState.STOPPED, str(exc))
        except (StartError, OpenCodeError) as exc:
            self._fail(ServerState.CRASHED, str(exc))
            self._schedule_restart("start-failed", str(exc), None)

    def _on_exit(self, code: int) -> None:
        process = self._process
        tail = process.last_output(3) if process else ""
        log.warning("OpenCode exited unexpectedly with code %s", code)
        self._terminate()  # reaps what the dead server left behind
        with self._status_lock:
            self._info["last_exit_code"] = code
        detail = f"exited with code {code}" + (f"; last output: {tail}" if tail else "")
        self._fail(ServerState.CRASHED, detail)
        self._schedule_restart("crashed", detail, code)

    def _check_health(self) -> None:
        self._next_health_at = self._clock() + self._settings.current.server.health_interval
        client = self._client
        if client is None:
            return
        try:
            body = client.health(timeout=self._settings.current.server.health_timeout)
        except OpenCodeError as exc:
            if self._info["mode"] == "managed" and self._judge_slow():
                log.info("OpenCode health check failed (%s) but the process is working (its CPU time advanced): "
                         "slow, not dead; not restarted", exc)
                if self._state != ServerState.UNHEALTHY:
                    self._set_state(ServerState.UNHEALTHY, reason=f"answering slowly while busy: {exc}")
                return
            self._health_failures += 1
            limit = self._settings.current.server.health_failures
            log.warning("OpenCode health check failed (%d of %d): %s", self._health_failures, limit, exc)
            if self._state != ServerState.UNHEALTHY:
                self._set_state(ServerState.UNHEALTHY, reason=str(exc))
            if self._health_failures >= limit and self._info["mode"] == "managed":
                detail = f"{self._health_failures} health checks failed in a row; last: {exc}"
                self._terminate()
                self._fail(ServerState.UNHEALTHY, detail)
                self._schedule_restart("unhealthy", detail, None)
            return
        self._health_failures = 0
        self._slow_since = None
        self._note_cpu()
        with self._status_lock:
            self._info["version"] = body.get("version") or self._info["version"]
        if self._state == ServerState.UNHEALTHY:
            self._set_state(ServerState.RUNNING, reason="health checks pass again")

    def _judge_slow(self) -> bool:
        """Slow or dead, after a health check that failed. Slow: the process exists, is not
        stopped or a zombie, and either its own CPU time advanced by at least one clock tick
        since the previous check or it is runnable right now (working, or waiting for a CPU on
        a loaded machine), and it has been slow for less than `server.slow_grace` seconds. Anything else is dead, and
        counts toward `server.health_failures`. (A TCP connect proves nothing: the kernel
        accepts connections for a frozen process.)"""
        import psutil

        process = self._process
        if process is None or process.pid is None:
            return False
        try:
            proc = psutil.Process(process.pid)
            if proc.status() in (psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD,
                                 getattr(psutil, "STATUS_TRACING_STOP", "tracing-stop")):
                return False
            runnable = proc.status() == psutil.STATUS_RUNNING  # on a CPU or waiting for one (a loaded machine)
            times = proc.cpu_times()
            cpu = times.user + times.system
        except psutil.Error:
            return False
        previous, self._cpu_seen = self._cpu_seen, (process.pid, cpu)
        advanced = previous is not None and previous[0] == process.pid and cpu - previous[1] >= CPU_TICK
        if not (advanced or runnable):
            return False
        now = self._clock()
        if self._slow_since is None:
            self._slow_since = now
        return now - self._slow_since < self._settings.current.server.slow_grace

    def _note_cpu(self) -> None:
        """The process's CPU time at a passing health check: what the next failed one compares."""
        import psutil

        process = self._process
        if process is None or process.pid is None:
            return
        try:
            times = psutil.Process(process.pid).cpu_times()
            self._cpu_seen = (process.pid, times.user + times.system)
        except psutil.Error:
            self._cpu_seen = None

    def _schedule_restart(self, reason: str, detail: str, exit_code: int | None) -> None:
        if not self._settings.current.restart.enabled:
            self._want_running = False
            log.warning("automatic restart is off; OpenCode stays down")
            return
        self._backoff = self._refresh_backoff()
        delay = self._backoff.next_delay()
        if delay is None:
            self._restarts.add(reason=reason, detail=detail, exit_code=exit_code,
                               attempt=self._backoff.attempts, outcome="gave-up")
            self._want_running = False
            self._next_attempt_at = None
            log.error("OpenCode failed %d times in a row; giving up until you start it again", self._backoff.attempts)
            self._set_state(ServerState.GAVE_UP, reason=f"gave up after {self._backoff.attempts} attempts: {detail}")
            return
        self._pending_restart_id = self._restarts.add(reason=reason, detail=detail, exit_code=exit_code,
                                                      attempt=self._backoff.attempts, delay=delay)
        self._next_attempt_at = self._clock() + delay
        log.info("restarting OpenCode in %.1f s (attempt %d of %d)", delay, self._backoff.attempts,
                 self._backoff.max_attempts)
        self._set_state(ServerState.BACKING_OFF, reason=detail, delay=delay, attempt=self._backoff.attempts)

    def _attempt_restart(self) -> None:
        self._next_attempt_at = None
        restart_id, self._pending_restart_id = self._pending_restart_id, None
        try:
            self._bring_up(on_ready=lambda: self._restart_succeeded(restart_id))
        except BinaryNotFound as exc:
            if restart_id is not None:
                self._restarts.set_outcome(restart_id, "failed", str(exc))
            self._want_running = False
            self._fail(ServerState.STOPPED, str(exc))
            return
        except (StartError, OpenCodeError) as exc:
            if restart_id is not None:
                self._restarts.set_outcome(restart_id, "failed", str(exc))
            self._fail(ServerState.CRASHED, str(exc))
            self._schedule_restart("start-failed", str(exc), None)
            return

    def _restart_succeeded(self, restart_id: int | None) -> None:
        # Recorded before the `running` state goes out, so whoever reacts to that event (the
        # dashboard reloads its history) already sees the outcome and the new count.
        if restart_id is not None:
            self._restarts.set_outcome(restart_id, "ok")
        self._restart_count += 1

    # ----- bringing the server up and down -----------------------------------------------------

    def _bring_up(self, on_ready: Callable[[], None] | None = None) -> None:
        """Spawn (or attach to) OpenCode and wait until it answers. Lifecycle lock held.
        `on_ready` runs once it answers, just before the `running` state is published."""
        config = self._current_spawn_config()
        self._set_state(ServerState.STARTING)
        self._health_failures = 0
        self._cpu_seen, self._slow_since = None, None
        timeout = self._settings.current.server.start_timeout
        if config["url"]:
            password = self._attach_password() or os.environ.get("OPENCODE_SERVER_PASSWORD") or None
            register_secret(password)
            client = OpenCodeClient(config["url"], password=password, counters=self.counters)
            process = None
            mode, binary = "attached", None
        else:
            binary, _source = find_opencode(config["binary"])
            password = secrets.token_urlsafe(32) if config["protected"] else None
            register_secret(password)
            if self._settings.current.server.adopt_after_crash:
                process = self._process_factory(binary, Path(config["workspace"]), config["env"], password=password)
            else:
                process = self._process_factory(binary, Path(config["workspace"]), config["env"], password=password,
                                                launcher=self._launcher)
            self._process = process
            url = process.start(timeout)
            if self._child_record is not None and process.pid is not None:
                self._child_record.remember(process.pid, url=url, password=password,
                                            config=fingerprint(config))
            client = OpenCodeClient(url, password=password, counters=self.counters)
            mode = "managed"
        self._client = client
        try:
            body = self._wait_healthy(client, process, timeout)
        except (OpenCodeError, StartError):
            self._terminate()
            raise
        self._spawn_config = config
        self._started_at = self._clock()
        self._started_wall = time.time()
        self._next_health_at = self._clock() + self._settings.current.server.health_interval
        self._note_cpu()
        with self._status_lock:
            self._info.update(url=client.base_url, pid=process.pid if process else None, mode=mode,
                              version=body.get("version"), binary=binary, last_error=None)
        log.info("OpenCode %s is running at %s%s", body.get("version") or "", client.base_url,
                 f" (pid {process.pid})" if process else " (attached)")
        if on_ready is not None:
            on_ready()
        self._set_state(ServerState.RUNNING, reason="ready")

    def _wait_healthy(self, client: OpenCodeClient, process: OpenCodeProcess | None, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return client.health(timeout=min(2.0, timeout))
            except OpenCodeError as exc:
                if self._stopping.is_set():
                    raise OpenCodeError("Nexus is shutting down") from exc
                if process is not None and (code := process.poll()) is not None:
                    raise StartError(f"OpenCode exited with code {code} during start-up. "
                                     f"Last output: {process.last_output() or '(none)'}") from exc
                if time.monotonic() > deadline:
                    raise OpenCodeError(f"OpenCode did not become healthy within {timeout:g} s: {exc}") from exc
                time.sleep(0.2)

    def _terminate(self) -> None:
        """Stop the process (if any) and drop the client. Lifecycle lock held."""
        process, self._process = self._process, None
        client, self._client = self._client, None
        self._started_at = None
        if client is not None:
            client.close()
        if process is not None:
            code = process.stop(self._settings.current.server.stop_timeout)
            if self._child_record is not None:
                self._child_record.forget()
            with self._status_lock:
                self._info["pid"] = None
                if code is not None:
                    self._info["last_exit_code"] = code

    def _cancel_pending_restart(self, why: str) -> None:
        if self._pending_restart_id is not None:
            self._restarts.set_outcome(self._pending_restart_id, "cancelled", why)
            self._pending_restart_id = None
        self._next_attempt_at = None

    # ----- helpers ------------------------------------------------------------------------------

    def _current_spawn_config(self) -> dict[str, Any]:
        workspace = self._settings.current.server.workspace or str(self._default_workspace)
        return {"binary": self._settings.current.server.binary, "workspace": str(Path(workspace).expanduser()),
                "url": self._settings.current.server.url, "protected": self._settings.current.server.protect,
                "env": dict(self._settings.current.server.env)}

    def _restart_required(self) -> bool:
        if self._spawn_config is None or self._state not in (ServerState.RUNNING, ServerState.UNHEALTHY):
            return False
        return self._spawn_config != self._current_spawn_config()

    def _new_backoff(self) -> Backoff:
        s = self._settings.current.restart
        return Backoff(s.initial_delay, s.factor, s.max_delay,
                       s.max_attempts, s.reset_after, clock=self._clock)

    def _refresh_backoff(self) -> Backoff:
        """Apply changed restart settings without forgetting how many attempts were made."""
        fresh = self._new_backoff()
        fresh.attempts = self._backoff.attempts
        return fresh

    def _fail(self, state: ServerState, error: str) -> None:
        with self._status_lock:
            self._info["last_error"] = error
        self._set_state(state, reason=error)

    def _set_state(self, state: ServerState, reason: str = "", **extra: Any) -> None:
        previous = self._state
        if previous == state and not reason:
            return
        self._state = state
        if previous != state:
            log.info("OpenCode server: %s -> %s%s", previous.value, state.value, f" ({reason})" if reason else "")
        self._bus.publish("server.state", state=state.value, previous=previous.value, reason=reason,
                          status=self.status(), **extra)
