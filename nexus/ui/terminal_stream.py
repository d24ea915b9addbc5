"""WebSockets of the workspace pane: a terminal's screen, and one manual command's output.

Terminal (`/api/terminals/<id>/connect`): the server first sends `{"type": "ready", ...}`,
then the scrollback so far and then live output as binary frames; the page sends
`{"op": "input", "data": "..."}` and `{"op": "resize", "cols": C, "rows": R}`. When the
shell ends the server sends `{"type": "exit", "code": N}` and closes. Reconnecting (a
network drop, a reload) attaches to the same shell and replays its scrollback.

Command (`/api/sessions/<id>/run`): the page sends `{"op": "run", "command": "..."}`, gets
`{"type": "output", "data": "..."}` frames and a final `{"type": "done", ...}`; `{"op":
"stop"}` stops it. Refusals close the socket with code 4403 (not allowed) or 4404 (no such
terminal) and a reason a person can read, which the pane shows.
"""

from __future__ import annotations

import json
import queue
import socket
import time
from typing import Any

from nexus import wire
from nexus.errors import ServiceError
from nexus.ui.api_workspace import shell_refusal
from nexus.ui.context import closing, runtime
from nexus.workspace.files import FileError
from nexus.workspace.terminals import TerminalError

CLOSE_REFUSED = 4403
CLOSE_NOT_FOUND = 4404
WAIT = 0.05
LINGER = 3.0
MAX_FRAME = 64 * 1024


def _dump(obj: dict[str, Any]) -> str:
    return wire.dumps(obj)


def _end(ws: Any, code: int, reason: str) -> None:
    """Let the page close first (see the module's doc), then close with `code` and `reason`,
    and shut the socket so the HTTP response flask-sock writes afterwards goes nowhere."""
    from simple_websocket import ConnectionClosed  # here: only a WebSocket request imports it (issue 16)

    deadline = time.monotonic() + LINGER
    try:
        while ws.connected and time.monotonic() < deadline:
            ws.receive(timeout=0.1)
        ws.close(code, reason)
    except ConnectionClosed:
        pass
    try:
        ws.sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass


def _refuse(ws: Any, code: int, message: str) -> None:
    ws.send(_dump({"type": "refused", "code": code, "message": message}))
    _end(ws, code, message)


def _refused(ws: Any) -> bool:
    refusal = shell_refusal()
    if refusal:
        _refuse(ws, CLOSE_REFUSED, refusal[1])
        return True
    return False


def terminal_connect_ws(ws: Any, terminal_id: str) -> None:
    from simple_websocket import ConnectionClosed

    if _refused(ws):
        return
    try:
        terminal = runtime().workspace.terminal(terminal_id)
    except TerminalError as exc:
        _refuse(ws, CLOSE_NOT_FOUND, str(exc))
        return
    stop = closing()
    viewer, scrollback = terminal.attach()
    try:
        ws.send(_dump({"type": "ready", "terminal": terminal.to_json()}))
        if scrollback:
            ws.send(scrollback)
        while not stop.is_set() and ws.connected:
            while (raw := ws.receive(timeout=0)) is not None:
                _terminal_op(ws, terminal, raw)
            try:
                chunk = viewer.queue.get(timeout=WAIT)
            except queue.Empty:
                continue
            if chunk is None:
                ws.send(_dump({"type": "exit", "code": terminal.exit_code}))
                _end(ws, 1000, "The shell ended.")
                return
            # Whatever queued up meanwhile goes in the same frame.
            pending = bytearray(chunk)
            while len(pending) < MAX_FRAME:
                try:
                    more = viewer.queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    viewer.queue.put(None)
                    break
                pending.extend(more)
            ws.send(bytes(pending))
            if viewer.overflowed:
                _end(ws, 1013, "Too far behind; reconnecting replays the screen.")
                return
    except ConnectionClosed:
        pass
    finally:
        terminal.detach(viewer)


def _terminal_op(ws: Any, terminal: Any, raw: Any) -> None:
    try:
        op = json.loads(raw)
    except (TypeError, ValueError):
        op = None
    if not isinstance(op, dict):
        ws.send(_dump({"type": "error", "message": "messages must be JSON objects"}))
        return
    if op.get("op") == "input" and isinstance(op.get("data"), str):
        terminal.write(op["data"].encode("utf-8"))
    elif op.get("op") == "resize" and all(isinstance(op.get(k), int) and 2 <= op[k] <= 1000
                                          for k in ("cols", "rows")):
        terminal.resize(op["cols"], op["rows"])
    else:
        ws.send(_dump({"type": "error", "message": "unknown op; use input or resize"}))


def run_command_ws(ws: Any, session_id: str) -> None:
    """Relays one manual command (nexus.workspace.manual_commands) to the page: the command
    runs in the workspace service; leaving the page or Nexus stopping stops it."""
    from simple_websocket import ConnectionClosed

    if _refused(ws):
        return
    try:
        command = runtime().workspace.manual_command(session_id)
    except FileError as exc:
        _refuse(ws, CLOSE_NOT_FOUND, str(exc))
        return
    try:
        request = json.loads(ws.receive(timeout=30) or "null")
    except (TypeError, ValueError):
        request = None
    except ConnectionClosed:
        return
    if not isinstance(request, dict) or request.get("op") != "run" or not isinstance(request.get("command"), str) \
            or not request["command"].strip():
        _refuse(ws, 1008, 'Send {"op": "run", "command": "..."} first.')
        return
    try:
        command.start(request["command"])
    except ServiceError as exc:
        _refuse(ws, 1013, exc.message)
        return
    stop = closing()
    try:
        while not command.finished:
            if stop.is_set():
                command.cancel()
            while (raw := ws.receive(timeout=0)) is not None:
                if _is_stop(raw):
                    command.cancel()
            text = command.read(WAIT, MAX_FRAME)
            if text is not None:
                ws.send(_dump({"type": "output", "data": text}))
        ws.send(_dump({"type": "done", **command.outcome()}))
        _end(ws, 1000, "Done.")
    except ConnectionClosed:
        pass  # the page went away: stopping below ends its command, never left running unseen
    finally:
        command.stop()


def _is_stop(raw: Any) -> bool:
    try:
        return json.loads(raw).get("op") == "stop"
    except (TypeError, ValueError, AttributeError):
        return False
