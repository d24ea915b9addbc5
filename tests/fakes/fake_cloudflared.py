"""A fake `cloudflared` that behaves like the real one on the wire, for tests.

Run as `python -m tests.fakes.fake_cloudflared tunnel [--no-autoupdate] [--metrics H:P]
[--protocol P] (--url URL | run)`; `make_fake_binary()` writes an executable wrapper.

Like the real binary, version 2026.8.2 (`/work/shared/tools/cloudflared`; `VERSION` below):
zerolog console lines on stderr, usage errors on stdout with exit code 0 for any flag it does
not know; the quick tunnel's notice and ASCII box with the URL, byte for byte as that version
prints them (captured from the real binary offline, pointed at a local quick-tunnel API with
its hidden `--quick-service` flag); the "Registered tunnel connection" line with the fields
its source logs (connIndex, connection, event, ip, location, protocol); a metrics server with `/quicktunnel`, `/ready` (503 until
a connection is "registered"), `/healthcheck` and `/metrics`; exit code 1 with an
untimestamped last line when Cloudflare cannot be reached; graceful exit on SIGTERM. The
named tunnel takes its token from `TUNNEL_TOKEN` and logs the remote ingress config.

Instead of Cloudflare's edge it opens a local "edge" port that forwards HTTP (and
WebSocket upgrades, byte for byte) to the origin, adding the headers cloudflared adds:
Cf-Connecting-Ip, Cf-Ray, Cf-Visitor, X-Forwarded-For, X-Forwarded-Proto, and the public
Host. So tests can go "through the tunnel".

Knobs (environment): FAKE_CF_STATE (file to write {edge_port, pid, argv, token_in_env}),
FAKE_CF_BEHAVIOUR = ok | offline | rate-limited | bad-token | die-after:SECONDS | never-ready,
FAKE_CF_HOSTNAME (public name), FAKE_CF_ORIGIN (named tunnels: where the ingress points),
FAKE_CF_CLIENT_IP (the Cf-Connecting-Ip to report).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import select
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

VERSION = "2026.8.2-1-gd1df7985"
KNOWN_FLAGS = {"--no-autoupdate": 0, "--metrics": 1, "--url": 1, "--protocol": 1}  # flag -> how many values
NOTICE = ("Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to "
          "experiment and try it out. However, be aware that these account-less Tunnels have no uptime guarantee, "
          "are subject to the Cloudflare Online Services Terms of Use (https://www.cloudflare.com/website-terms/), "
          "and Cloudflare reserves the right to investigate your use of Tunnels for violations of such terms. If "
          "you intend to use Tunnels in production you should use a pre-created named tunnel by following: "
          "https://developers.cloudflare.com/cloudflare-one/connections/connect-apps")
WORDS = ("alpha", "bravo", "cedar", "delta", "ember", "fjord", "grove", "harbor", "island", "juniper")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def say(level: str, message: str) -> None:
    sys.stderr.write(f"{now()} {level} {message}\n")
    sys.stderr.flush()


class State:
    registered = False
    hostname = ""
    origin = ""
    client_ip = "203.0.113.7"


def metrics_handler() -> type[BaseHTTPRequestHandler]:
    class Metrics(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/quicktunnel":
                self._send(200, json.dumps({"hostname": State.hostname}), "application/json")
            elif self.path == "/ready":
                status = 200 if State.registered else 503
                self._send(status, json.dumps({"status": status, "readyConnections": int(State.registered),
                                               "connectorId": str(uuid.uuid4())}), "application/json")
            elif self.path == "/healthcheck":
                self._send(200, "OK\n", "text/plain")
            elif self.path == "/metrics":
                self._send(200, "# HELP cloudflared_tunnel_ha_connections\ncloudflared_tunnel_ha_connections "
                                f"{int(State.registered)}\n", "text/plain")
            else:
                self._send(404, "404 page not found\n", "text/plain")

        def _send(self, status: int, body: str, ctype: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Metrics


HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}


class Edge(BaseHTTPRequestHandler):
    """Cloudflare's edge, locally: forwards to the origin with Cloudflare's headers."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _cf_headers(self) -> dict[str, str]:
        return {"Host": State.hostname, "Cf-Connecting-Ip": State.client_ip, "Cf-Ray": f"{uuid.uuid4().hex[:16]}-AMS",
                "Cf-Visitor": '{"scheme":"https"}', "Cf-Ipcountry": "NL", "X-Forwarded-For": State.client_ip,
                "X-Forwarded-Proto": "https", "Cdn-Loop": "cloudflare"}

    def _forward(self) -> None:
        origin = urlsplit(State.origin)
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self._tunnel_websocket(origin.hostname or "127.0.0.1", origin.port or 80)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers.update(self._cf_headers())
        conn = http.client.HTTPConnection(origin.hostname, origin.port, timeout=30)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
        except OSError as exc:
            message = f"502 Bad Gateway: origin unreachable ({exc})".encode()
            self.send_response(502)
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)
            return
        finally:
            conn.close()
        self.send_response(res.status, res.reason)
        for key, value in res.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _tunnel_websocket(self, host: str, port: int) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        headers.update(self._cf_headers())
        head = f"{self.command} {self.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        upstream = socket.create_connection((host, port), timeout=30)
        upstream.sendall(head.encode("latin-1") + b"\r\n")
        client = self.connection
        sockets = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    break
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


def serve(server: ThreadingHTTPServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def usage_error(flag: str) -> int:
    """What the real program does with a flag it does not know: help on stdout, exit code 0."""
    sys.stdout.write(f"Incorrect Usage. flag provided but not defined: -{flag.lstrip('-')}\n\nNAME:\n"
                     "   cloudflared tunnel - Use Cloudflare Tunnel to expose private services to the Internet "
                     "or to Cloudflare connected private users.\n")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        sys.stdout.write(f"cloudflared version {VERSION} (built 2026-11-29)\n")
        return 0
    if not argv or argv[0] != "tunnel":
        sys.stderr.write("fake cloudflared: only `tunnel` is implemented\n")
        return 2
    args = argv[1:]
    metrics = "127.0.0.1:0"
    url = None
    named = "run" in args
    protocol = "quic"
    i = 0
    while i < len(args):
        if args[i] == "--metrics":
            metrics, i = args[i + 1], i + 2
        elif args[i] == "--url":
            url, i = args[i + 1], i + 2
        elif args[i] == "--protocol":
            protocol, i = args[i + 1], i + 2
        elif args[i] == "--token":
            sys.stderr.write("fake cloudflared: the token was passed on the command line\n")
            return 3  # a test failure: Nexus must never do this
        elif args[i] in KNOWN_FLAGS or args[i] == "run":
            i += 1 + KNOWN_FLAGS.get(args[i], 0)
        else:
            return usage_error(args[i])
    behaviour = os.environ.get("FAKE_CF_BEHAVIOUR", "ok")
    State.client_ip = os.environ.get("FAKE_CF_CLIENT_IP", State.client_ip)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    if named:
        token = os.environ.get("TUNNEL_TOKEN", "")
        if not token or behaviour == "bad-token":
            say("ERR", "Provided Tunnel token is not valid.")
            sys.stderr.write("Provided Tunnel token is not valid.\n")
            return 1
        State.hostname = os.environ.get("FAKE_CF_HOSTNAME", "nexus.example.test")
        State.origin = os.environ.get("FAKE_CF_ORIGIN", "http://127.0.0.1:7420")
    else:
        say("INF", NOTICE)
        say("INF", "Requesting new quick Tunnel on trycloudflare.com...")
        if behaviour == "offline":
            time.sleep(0.2)
            sys.stderr.write('failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp: '
                             "lookup api.trycloudflare.com on 127.0.0.53:53: server misbehaving\n")
            return 1
        if behaviour == "rate-limited":
            say("ERR", 'Error unmarshaling QuickTunnel response: error code: 1015 error="invalid character \'e\' '
                       'looking for beginning of value" status_code="429 Too Many Requests"')
            sys.stderr.write("failed to unmarshal quick Tunnel: invalid character 'e' looking for beginning of value\n")
            return 1
        State.hostname = os.environ.get("FAKE_CF_HOSTNAME") or \
            "-".join(random.sample(WORDS, 4)) + ".trycloudflare.com"
        State.origin = url or "http://127.0.0.1:8080"
        line = f"https://{State.hostname}"
        message = "Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):"
        width = max(len(line), len(message))
        say("INF", "+" + "-" * (width + 4) + "+")
        say("INF", f"|  {message.ljust(width)}  |")
        say("INF", f"|  {line.ljust(width)}  |")
        say("INF", "+" + "-" * (width + 4) + "+")

    host, port = metrics.rsplit(":", 1)
    metrics_server = ThreadingHTTPServer((host, int(port)), metrics_handler())
    serve(metrics_server)
    edge = ThreadingHTTPServer(("127.0.0.1", 0), Edge)
    edge.daemon_threads = True
    serve(edge)
    say("INF", f"Generated Connector ID: {uuid.uuid4()}")
    say("INF", f"Initial protocol {protocol}")
    say("INF", f"Starting metrics server on {host}:{metrics_server.server_port}/metrics")
    if named:
        config = json.dumps({"ingress": [{"hostname": State.hostname, "service": State.origin},
                                         {"service": "http_status:404"}], "warp-routing": {"enabled": False}})
        say("INF", f"Updated to new configuration config={json.dumps(config)} version=1")
    state_file = os.environ.get("FAKE_CF_STATE")
    if state_file:
        Path(state_file).write_text(json.dumps({
            "edge_port": edge.server_port, "pid": os.getpid(), "argv": sys.argv, "hostname": State.hostname,
            "token_in_env": bool(os.environ.get("TUNNEL_TOKEN")), "protocol": protocol}))
    if behaviour != "never-ready":
        time.sleep(0.1)
        State.registered = True
        say("INF", f"Registered tunnel connection connIndex=0 connection={uuid.uuid4()} event=0 "
                   f"ip=198.41.200.13 location=ams08 protocol={protocol}")
    die_after = float(behaviour.split(":", 1)[1]) if behaviour.startswith("die-after:") else None
    started = time.monotonic()
    while not stop.wait(0.05):
        if die_after is not None and time.monotonic() - started >= die_after:
            say("ERR", "Serve tunnel error error=\"connection with edge closed\" connIndex=0")
            sys.stderr.write("connection with edge closed\n")
            return 1
    say("INF", "Initiating graceful shutdown due to signal terminated ...")
    say("INF", "Unregistered tunnel connection connIndex=0 event=0 ip=198.41.200.13")
    metrics_server.shutdown()
    edge.shutdown()
    return 0


def make_fake_binary(folder: Path) -> Path:
    """An executable `cloudflared` that runs this fake with the test's Python."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cloudflared"
    root = Path(__file__).resolve().parents[2]
    path.write_text(f"#!/bin/sh\nPYTHONPATH={root} exec {sys.executable} -m tests.fakes.fake_cloudflared \"$@\"\n")
    path.chmod(0o755)
    return path


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
