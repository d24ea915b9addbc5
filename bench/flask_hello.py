"""The comparison point for Nexus's cold start: a bare Flask hello-world app on Werkzeug.

It is served exactly the way Nexus serves its UI (werkzeug.serving.make_server, threaded,
in a thread, the main thread waiting for SIGTERM/SIGINT), so the difference between the two
is what Nexus adds: its own imports, the store, settings, logging and its routes.

    python bench/flask_hello.py --port 8123
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from flask import Flask, jsonify
from werkzeug.serving import make_server

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"


@app.get("/healthz")  # same path as Nexus, so run.py polls both the same way
def healthz():
    return jsonify({"ok": True})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--headers", help="a JSON object of headers every response carries (the page benches "
                        "pass Nexus's security headers, to show what they cost a first paint)")
    args = parser.parse_args(argv)
    if args.headers:
        import json

        extra = json.loads(args.headers)
        app.after_request(lambda response: (response.headers.update(extra), response)[1])

    server = make_server(args.host, args.port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    print(f"flask_hello is running at http://{args.host}:{server.server_port}", flush=True)
    while not done.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    thread.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
