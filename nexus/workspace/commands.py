"""Run one shell command inside a workspace with a time limit and an output cap.

The command gets its own process group so a timeout or a cancel stops everything it
started, not just the shell. Output past the cap is still drained (a full pipe would
block the child) but dropped, and the result says so.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

DEFAULT_TIMEOUT = 120.0
DEFAULT_OUTPUT_LIMIT = 64 * 1024
_KILL_GRACE = 2.0


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int | None      # None when it was stopped (timeout or cancel)
    output: str                # stdout and stderr interleaved, at most the cap
    truncated: bool
    timed_out: bool
    cancelled: bool
    duration: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def summary(self) -> str:
        """One line saying how it ended, for tool results and the pane."""
        if self.timed_out:
            return f"Stopped after {self.duration:.0f} s (time limit)."
        if self.cancelled:
            return "Stopped by the user."
        return f"Exited with code {self.exit_code} after {self.duration:.1f} s."


def run_command(
    command: str,
    cwd: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    cancel: threading.Event | None = None,
    on_output: Callable[[str], None] | None = None,
    env: dict[str, str] | None = None,
) -> CommandResult:
    if not command.strip():
        raise ValueError("The command is empty")
    started = time.monotonic()
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command] if os.name != "nt" else command,
        cwd=str(cwd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        shell=os.name == "nt",
        start_new_session=os.name != "nt",
    )
    kept = bytearray()
    truncated = False

    def pump() -> None:
        nonlocal truncated
        # A pipe opened with the default buffering is a BufferedReader (read1: what is there, no waiting for more).
        stdout = cast(io.BufferedReader, proc.stdout)
        for chunk in iter(lambda: stdout.read1(4096), b""):
            room = output_limit - len(kept)
            if room > 0:
                piece = chunk[:room]
                kept.extend(piece)
                if on_output is not None:
                    on_output(piece.decode("utf-8", "replace"))
            if len(chunk) > max(room, 0):
                truncated = True

    reader = threading.Thread(target=pump, name="workspace-command-output", daemon=True)
    reader.start()
    timed_out = cancelled = False
    deadline = started + timeout
    while proc.poll() is None:
        if cancel is not None and cancel.is_set():
            cancelled = True
            break
        if time.monotonic() >= deadline:
            timed_out = True
            break
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            pass
    if timed_out or cancelled:
        stop_group(proc)
    else:
        # The shell has exited; anything it left running in the background still holds
        # the pipe open, so stop the group or the reader would wait for it forever.
        stop_group(proc, grace=0)
    reader.join(timeout=_KILL_GRACE)
    if proc.stdout is not None:
        proc.stdout.close()
    return CommandResult(
        command=command,
        exit_code=None if (timed_out or cancelled) else proc.returncode,
        output=kept.decode("utf-8", "replace"),
        truncated=truncated,
        timed_out=timed_out,
        cancelled=cancelled,
        duration=time.monotonic() - started,
    )


def stop_group(proc: subprocess.Popen[bytes], grace: float = _KILL_GRACE) -> None:
    if os.name == "nt":
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        return
    signal_group(proc.pid, signal.SIGTERM)
    if grace and proc.poll() is None:
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # Whatever is still in the group ignored SIGTERM or outlived the shell.
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


def signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
