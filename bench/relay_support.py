"""The readers of the relay benchmark (bench/relay.py), each run as its own process, and its
diagnostics (patches applied inside Nexus for experiments, never by default).

    python bench/relay_support.py sse http://127.0.0.1:OPENCODE_PORT       # OpenCode's /global/event
    python bench/relay_support.py ws  http://127.0.0.1:NEXUS_PORT [--no-deflate]   # Nexus's chat stream
    python bench/relay_support.py tap http://127.0.0.1:OPENCODE_PORT       # OpenCode's writes, on the wire (root)

The tap is a packet socket on `lo` (BPF: TCP from OpenCode's port) that stamps every text delta
OpenCode writes to any subscriber, tagged with the subscriber's port: that is how the moment an
event left OpenCode *for Nexus* is known. Otherwise the readers are deliberately the same shape,
so neither is favoured: one thread, one blocking socket,
select() on the socket and stdin, and every complete event gets two stamps from the recvmsg()
that completed it, taken before any parsing:
  * the kernel's receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME): when the bytes reached the
    socket. On loopback that is when the sender wrote them, whether or not this process was
    running at that moment, so a reader the scheduler keeps waiting does not bias the figure.
    (When unread data piles up the kernel merges segments and keeps the newest stamp, so a
    late reader gives stamps that are late, never early.)
  * `time.monotonic_ns()` right after recvmsg() returned: when this process saw them.
Each clock is one system-wide clock, so stamps from the two processes compare directly.
The SSE side speaks HTTP/1.1 through h11 (OpenCode answers chunked); the WebSocket side
speaks RFC 6455 through wsproto and, like every browser, offers permessage-deflate unless
--no-deflate.

Control is line-based. stdin:
    follow SID [SID...]      (ws) follow these Nexus sessions from a snapshot
    round R N                start bucket R; say "complete R" once N text deltas are in it
    dump R PATH              write bucket R as JSON to PATH, then say "dumped R"
    quit
stdout: "ready" (connected; sse: "ready PORT", its local port; ws: after hello), "following N"
(ws: N snapshots in),
"complete R", "dumped R", "error MESSAGE". A reader exits on quit, on EOF on stdin
(the bench died), when its stream closes, or after --lifetime seconds: nothing is left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import select
import socket
import struct
import sys
import time
from typing import Any
from urllib.parse import urlsplit

DELTA_MARK = b'"message.part.delta"'
TOKEN = re.compile(r"tok\d+ ")  # one chunk of the fake model's BURST reply
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux (asm-generic); SCM_TIMESTAMPNS is the same
RECV_SIZE = 262144  # a whole packet for the tap (loopback segments reach 64 KB); a socket read for the others
SO_RCVBUFFORCE = 33
SOL_PACKET, PACKET_STATISTICS = 263, 6


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Bucket:
    """What arrived during one round."""

    def __init__(self, round_id: str, expected: int) -> None:
        self.round = round_id
        self.expected = expected
        self.deltas: list[tuple[str, str, int, int, int]] = []  # session, delta, t_ns, seq (-1 on SSE), kernel_ns
        self.events = 0
        self.bytes = 0
        self.recvs = 0
        self.first_ns = 0
        self.last_ns = 0
        self.announced = False
        self.marks: list[tuple[str, str, int, int, int]] = []  # ws: other events worth a timestamp

    def to_json(self, extra: dict[str, Any]) -> dict[str, Any]:
        return {"round": self.round, "expected": self.expected, "deltas": self.deltas, "events": self.events,
                "bytes": self.bytes, "recvs": self.recvs, "first_ns": self.first_ns, "last_ns": self.last_ns,
                "marks": self.marks, **extra}


class Reader:
    kind = ""

    def __init__(self, url: str, lifetime: float) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.deadline = time.monotonic() + lifetime
        self.bucket = Bucket("-", 0)
        self.sock: socket.socket | None = None
        self.stdin_buf = b""
        self.running = True
        self.kernel_ns = 0  # receive timestamp of the recvmsg() being handled
        self.kernel_stamps = True

    def enable_stamps(self) -> None:
        assert self.sock is not None
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            self.kernel_stamps = False

    # ----- per-kind hooks
    def connect(self) -> None:
        raise NotImplementedError

    def feed(self, data: bytes, t_ns: int) -> None:
        raise NotImplementedError

    def command(self, words: list[str]) -> None:
        raise ValueError(f"unknown command {words[0]!r}")

    def extra(self) -> dict[str, Any]:
        return {"kernel_stamps": self.kernel_stamps}

    # ----- shared
    def record_event(self, t_ns: int) -> None:
        b = self.bucket
        b.events += 1
        if not b.first_ns:
            b.first_ns = t_ns
        b.last_ns = t_ns

    def record_delta(self, session: str, delta: str, t_ns: int, seq: int = -1) -> None:
        """Each model chunk ("tok17 ") is recorded on its own, so deltas merged on the way (Nexus
        merges a part's consecutive deltas per flush; OpenCode may too) still match one by one."""
        b = self.bucket
        tokens = TOKEN.findall(delta)
        for piece in tokens if tokens and "".join(tokens) == delta else [delta]:
            b.deltas.append((session, piece, t_ns, seq, self.kernel_ns))
        if not b.announced and b.expected and len(b.deltas) >= b.expected:
            b.announced = True
            say(f"complete {b.round}")

    def _stdin_lines(self, chunk: bytes) -> None:
        self.stdin_buf += chunk
        while b"\n" in self.stdin_buf:
            line, self.stdin_buf = self.stdin_buf.split(b"\n", 1)
            words = line.decode().split()
            if not words:
                continue
            if words[0] == "quit":
                self.running = False
            elif words[0] == "round":
                self.bucket = Bucket(words[1], int(words[2]))
            elif words[0] == "dump":
                round_id, path = words[1], words[2]
                bucket = self.bucket if self.bucket.round == round_id else Bucket(round_id, 0)
                with open(path, "w", encoding="utf-8") as out:
                    json.dump(bucket.to_json(self.extra()), out)
                say(f"dumped {round_id}")
            else:
                self.command(words)

    def run(self) -> int:
        self.connect()
        assert self.sock is not None
        self.enable_stamps()
        stdin = sys.stdin.fileno()
        sock = self.sock
        while self.running:
            if time.monotonic() > self.deadline:
                say("error lifetime exceeded")
                return 3
            ready, _, _ = select.select([sock, stdin], [], [], 1.0)
            if stdin in ready:
                # Whatever already arrived belongs to the bucket before the command: read it first.
                while self.running and select.select([sock], [], [], 0)[0]:
                    if not self.read_once():
                        return 2
                chunk = os.read(stdin, 65536)
                if not chunk:
                    return 0  # the bench is gone
                self._stdin_lines(chunk)
            elif sock in ready and not self.read_once():
                return 2
        return 0

    def read_once(self) -> bool:
        """One recvmsg(), stamped; False once the stream has closed."""
        assert self.sock is not None
        data, ancillary, _flags, address = self.sock.recvmsg(RECV_SIZE, socket.CMSG_SPACE(16))
        t_ns = time.monotonic_ns()
        self.kernel_ns = 0
        for level, kind, blob in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(blob) >= 16:
                seconds, nanos = struct.unpack("qq", blob[:16])
                self.kernel_ns = seconds * 1_000_000_000 + nanos
        if not data:
            say("error stream closed")
            return False
        self.received(data, address, t_ns)
        return True

    def received(self, data: bytes, address: Any, t_ns: int) -> None:
        self.bucket.bytes += len(data)
        self.bucket.recvs += 1
        self.feed(data, t_ns)


class SseReader(Reader):
    """OpenCode's own stream, read directly: the comparison point."""

    kind = "sse"

    def connect(self) -> None:
        import h11

        self.sock = socket.create_connection((self.host, self.port), timeout=10)
        self.sock.settimeout(None)
        self.conn = h11.Connection(h11.CLIENT)
        request = h11.Request(method="GET", target="/global/event",
                              headers=[("Host", f"{self.host}:{self.port}"), ("Accept", "text/event-stream"),
                                       ("User-Agent", "nexus-relay-bench")])
        self.sock.sendall(self.conn.send(request) + self.conn.send(h11.EndOfMessage()))
        self.h11 = h11
        self.buffer = b""
        self.other = 0

    def feed(self, data: bytes, t_ns: int) -> None:
        h11 = self.h11
        self.conn.receive_data(data)
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Response):
                if event.status_code != 200:
                    say(f"error OpenCode answered {event.status_code}")
                    self.running = False
                    return
                assert self.sock is not None
                say(f"ready {self.sock.getsockname()[1]}")  # the tap tells this reader's stream by its port
            elif isinstance(event, h11.Data):
                self._sse(bytes(event.data), t_ns)
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                say("error stream ended")
                self.running = False
                return

    def _sse(self, data: bytes, t_ns: int) -> None:
        self.buffer += data.replace(b"\r\n", b"\n")
        while b"\n\n" in self.buffer:
            block, self.buffer = self.buffer.split(b"\n\n", 1)
            if not block or block.startswith(b":"):
                continue
            self.record_event(t_ns)
            if DELTA_MARK not in block:
                continue
            raw = b"\n".join(line[5:].lstrip() for line in block.split(b"\n") if line.startswith(b"data:"))
            try:
                envelope = json.loads(raw)
            except ValueError:
                continue
            payload = envelope.get("payload", envelope)
            props = payload.get("properties") or {}
            if payload.get("type") == "message.part.delta" and props.get("field") == "text":
                self.record_delta(props.get("sessionID", ""), props.get("delta", ""), t_ns)


class TapReader(Reader):
    """Sees OpenCode's event streams on the wire: a packet socket on the loopback interface with a
    BPF filter for TCP segments from OpenCode's port (needs root or CAP_NET_RAW). Every text delta
    OpenCode writes to any subscriber is stamped with the packet's kernel timestamp and the
    subscriber's port, so the moment an event left OpenCode for *Nexus* is known - not only for
    the direct reader, which OpenCode serves on its own schedule."""

    kind = "tap"
    DELTA = re.compile(rb'"type":"message\.part\.delta","properties":\{"sessionID":"([^"]+)"[^{}]*?'
                       rb'"field":"text","delta":"((?:[^"\\]|\\.)*)"')

    def __init__(self, port: int, lifetime: float) -> None:
        super().__init__(f"http://127.0.0.1:{port}", lifetime)
        self.streams: dict[int, bytes] = {}  # subscriber port -> unparsed tail
        self.packets = 0

    def connect(self) -> None:
        ETH_P_ALL, SO_ATTACH_FILTER = 0x0003, 26
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        # ip and tcp and not a fragment and tcp src port == OpenCode's  (classic BPF, as tcpdump -dd would give)
        program = [(0x28, 0, 0, 12), (0x15, 0, 8, 0x0800), (0x30, 0, 0, 23), (0x15, 0, 6, 6),
                   (0x28, 0, 0, 20), (0x45, 4, 0, 0x1FFF), (0xB1, 0, 0, 14), (0x48, 0, 0, 14),
                   (0x15, 0, 1, self.port), (0x06, 0, 0, 262144), (0x06, 0, 0, 0)]
        import ctypes

        self._filter = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))
        fprog = struct.pack("HL", len(program), ctypes.addressof(self._filter))
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        with contextlib.suppress(OSError):  # room for OpenCode's bursts (~1 MB per subscriber); needs root
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 * 1024 * 1024)
        sock.bind(("lo", 0))
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:  # whatever queued before the filter was attached
                sock.recv(65536)
        sock.setblocking(True)
        self.sock = sock
        say("ready")

    def feed(self, data: bytes, t_ns: int) -> None:
        raise AssertionError("TapReader handles whole packets in received()")

    def received(self, data: bytes, address: Any, t_ns: int) -> None:
        if address[2] == socket.PACKET_HOST:  # loopback shows each packet twice: going out, coming in
            self._packet(data, t_ns)

    def _packet(self, frame: bytes, t_ns: int) -> None:
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        tcp = ip[ihl:]
        src, dst = struct.unpack("!HH", tcp[:4])
        payload = tcp[(tcp[12] >> 4) * 4:]
        if src != self.port or not payload:
            return
        self.packets += 1
        self.bucket.bytes += len(payload)
        self.bucket.recvs += 1
        data = self.streams.get(dst, b"") + payload
        end = 0
        for match in self.DELTA.finditer(data):
            self.record_event(t_ns)
            delta = json.loads(b'"' + match[2] + b'"')
            self.record_delta(match[1].decode(), delta, t_ns, dst)
            end = match.end()
        self.streams[dst] = data[end:][-8192:]  # a delta split across segments completes next time

    def extra(self) -> dict[str, Any]:
        drops = None
        with contextlib.suppress(OSError):  # counters since the last read: the bench reads them once a round
            assert self.sock is not None
            _, drops = struct.unpack("II", self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        return {**super().extra(), "packets": self.packets, "kernel_drops": drops}


class WsReader(Reader):
    """A browser-side client of Nexus's chat stream (/api/chat/stream)."""

    kind = "ws"

    def __init__(self, url: str, lifetime: float, deflate: bool) -> None:
        super().__init__(url, lifetime)
        self.deflate = deflate
        self.epoch: str | None = None
        self.waiting_snapshots: set[str] = set()
        self.following = 0
        self.last_seq: dict[str, int] = {}
        self.seq_gaps = 0
        self.seq_dups = 0
        self.partial = ""
        self.accepted_extensions: list[str] = []

    def connect(self) -> None:
        from wsproto import ConnectionType, WSConnection
        from wsproto.extensions import PerMessageDeflate

        self.sock = socket.create_connection((self.host, self.port), timeout=10)
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # our follow ops go out at once
        self.ws = WSConnection(ConnectionType.CLIENT)
        from wsproto.events import Request

        extensions = [PerMessageDeflate()] if self.deflate else []
        self.sock.sendall(self.ws.send(Request(host=f"{self.host}:{self.port}", target="/api/chat/stream",
                                               extensions=extensions)))

    def send_json(self, obj: dict[str, Any]) -> None:
        from wsproto.events import TextMessage

        assert self.sock is not None
        self.sock.sendall(self.ws.send(TextMessage(data=json.dumps(obj))))

    def command(self, words: list[str]) -> None:
        if words[0] != "follow":
            raise ValueError(f"unknown command {words[0]!r}")
        for session in words[1:]:
            self.waiting_snapshots.add(session)
            self.send_json({"op": "follow", "session": session, "after": None, "epoch": self.epoch})

    def extra(self) -> dict[str, Any]:
        return {**super().extra(), "seq_gaps": self.seq_gaps, "seq_dups": self.seq_dups, "epoch": self.epoch,
                "extensions": self.accepted_extensions}

    def feed(self, data: bytes, t_ns: int) -> None:
        from wsproto.events import AcceptConnection, CloseConnection, Ping, RejectConnection, RejectData, TextMessage

        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, TextMessage):
                self.partial += event.data
                if event.message_finished:
                    text, self.partial = self.partial, ""
                    self._message(text, t_ns)
            elif isinstance(event, AcceptConnection):
                self.accepted_extensions = [type(e).__name__ for e in event.extensions]
            elif isinstance(event, Ping):
                assert self.sock is not None
                self.sock.sendall(self.ws.send(event.response()))
            elif isinstance(event, (RejectConnection, RejectData)):
                say(f"error WebSocket handshake refused ({getattr(event, 'status_code', '?')})")
                self.running = False
            elif isinstance(event, CloseConnection):
                say(f"error Nexus closed the WebSocket ({event.code} {event.reason})")
                self.running = False

    def _message(self, text: str, t_ns: int) -> None:
        data = json.loads(text)
        # Nexus sends one event per frame, or an array of the events that queued up.
        for message in data if isinstance(data, list) else [data]:
            self._one(message, text, t_ns)

    def _one(self, message: dict, text: str, t_ns: int) -> None:
        kind = message.get("type")
        if kind == "ping":
            return
        if kind == "hello":
            self.epoch = message.get("epoch")
            say("ready")
            return
        session = message.get("session")
        seq = message.get("seq")
        if kind == "error" or not isinstance(session, str) or not isinstance(seq, int):
            say(f"error {text[:300]}")
            return
        self.record_event(t_ns)
        last = self.last_seq.get(session)
        if kind == "snapshot":
            self.last_seq[session] = seq
            if session in self.waiting_snapshots:
                self.waiting_snapshots.discard(session)
                self.following += 1
                if not self.waiting_snapshots:
                    say(f"following {self.following}")
            return
        first = message.get("from_seq", seq)  # a merged delta covers from_seq..seq
        if last is not None:
            if seq <= last or first <= last:
                self.seq_dups += 1
            elif first != last + 1:
                self.seq_gaps += first - last - 1
        self.last_seq[session] = max(seq, last or 0)
        if kind == "text.delta":
            self.record_delta(session, message["data"]["delta"], t_ns, seq)
        elif kind in ("message.end", "session.status"):  # to line latency spikes up with what Nexus did then
            self.bucket.marks.append((session, kind, t_ns, seq, self.kernel_ns))


# --------------------------------------------------------------------------- diagnostics

DIAGNOSTICS = {
    "switch1": "sys.setswitchinterval(0.001) in Nexus (Python's default is 5 ms)",
    "async-end-flush": "message.end no longer saves the transcript on the OpenCode event thread; the writer "
                       "thread's next batch (<= 0.5 s) saves it instead",
    "nodelay": "TCP_NODELAY on Nexus's WebSocket sockets (Nagle off)",
    "writer-5s": "the transcript writer saves every 5 s instead of every 0.5 s",
}


def apply_diagnostics(names: list[str]) -> None:
    """Experiments only, applied inside the Nexus process before it starts (bench/relay.py --diag):
    each tests one suspected source of relay latency without editing Nexus."""
    import threading

    for name in names:
        if name == "switch1":
            sys.setswitchinterval(0.001)
        elif name == "async-end-flush":
            from nexus.chat.writer import TranscriptWriter

            original = TranscriptWriter.flush

            def flush(self: Any, session_id: str) -> None:
                if threading.current_thread().name == "nexus-opencode-events":
                    return  # the periodic batch saves it
                original(self, session_id)

            TranscriptWriter.flush = flush  # type: ignore[method-assign]
        elif name == "writer-5s":
            from nexus.chat.writer import TranscriptWriter

            original_writer_init = TranscriptWriter.__init__

            def writer_init(self: Any, hub: Any, repo: Any, interval: float = 0.5) -> None:
                original_writer_init(self, hub, repo, 5.0)

            TranscriptWriter.__init__ = writer_init  # type: ignore[method-assign]
        elif name == "nodelay":
            import simple_websocket

            original_init = simple_websocket.Server.__init__

            def init(self: Any, environ: Any, *args: Any, **kwargs: Any) -> None:
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                original_init(self, environ, *args, **kwargs)

            simple_websocket.Server.__init__ = init  # type: ignore[method-assign]
        else:
            raise SystemExit(f"unknown diagnostic {name!r}; known: {', '.join(DIAGNOSTICS)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("sse", "ws", "tap"))
    parser.add_argument("url", help="sse/ws: the server's URL; tap: OpenCode's port")
    parser.add_argument("--no-deflate", action="store_true", help="ws: do not offer permessage-deflate")
    parser.add_argument("--lifetime", type=float, default=1800.0, help="exit after this many seconds regardless")
    args = parser.parse_args(argv)
    reader: Reader
    if args.kind == "sse":
        reader = SseReader(args.url, args.lifetime)
    elif args.kind == "ws":
        reader = WsReader(args.url, args.lifetime, deflate=not args.no_deflate)
    else:
        reader = TapReader(int(args.url.rsplit(":", 1)[-1]), args.lifetime)
    try:
        return reader.run()
    except (OSError, ValueError) as exc:
        say(f"error {type(exc).__name__}: {exc}")
        return 2
    finally:
        if reader.sock is not None:
            reader.sock.close()


if __name__ == "__main__":
    sys.exit(main())
