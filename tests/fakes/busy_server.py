"""A stand-in `opencode serve` for the health-check tests: it answers /global/health until
told to work, then spends its one thread spinning on the CPU (a real busy process, which
answers nothing meanwhile) until told to stop working.

Usage (as the supervisor runs a binary): busy_server.py serve --hostname H --port 0
`POST /work` starts the spin; a file named `rest` in the working directory ends it.
"""

from __future__ import annotations

import http.server
import json
import sys
import time
from pathlib import Path


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _reply(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._reply({"healthy": True, "version": "busy-fake"})

    def do_POST(self) -> None:
        self._reply({"working": True})
        self.wfile.flush()
        rest = Path("rest")
        while not rest.exists():  # busy on the CPU, answering nobody (one thread)
            end = time.monotonic() + 0.05
            while time.monotonic() < end:
                pass


def main() -> int:
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    print(f"opencode server listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
