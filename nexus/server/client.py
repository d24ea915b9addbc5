"""The one HTTP client for every call Nexus makes to OpenCode.

Every call has a timeout: OpenCode can accept a connection and never answer (during its
boot, see the recipe's pitfall P1). Every call is counted, so the dashboard can show the
requests and errors Nexus sent to the server.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

    from nexus.server.sse import EventStream

DEFAULT_TIMEOUT = 10.0


def _httpx():
    # httpx2 costs ~0.1 s to import; Nexus answers its first request before it is needed.
    import httpx2

    return httpx2


class OpenCodeError(RuntimeError):
    """A call to OpenCode failed; `status` is the HTTP status, or None when no answer came."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class RequestCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.errors = 0

    def count(self, *, error: bool) -> None:
        with self._lock:
            self.requests += 1
            if error:
                self.errors += 1

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.requests, self.errors


class OpenCodeClient:
    def __init__(self, base_url: str, *, password: str | None = None, username: str = "opencode",
                 counters: RequestCounters | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.counters = counters or RequestCounters()
        httpx = _httpx()
        auth = httpx.BasicAuth(username, password) if password else None
        self._basic_auth = (username, password) if password else None
        self._http = httpx.Client(base_url=self.base_url, auth=auth, timeout=timeout,
                                  headers={"User-Agent": "nexus"}, trust_env=False)

    def request(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> httpx2.Response:
        httpx = _httpx()
        try:
            if timeout is not None:
                kwargs["timeout"] = timeout
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            self.counters.count(error=True)
            raise OpenCodeError(f"OpenCode did not answer {method} {path} in time") from exc
        except httpx.HTTPError as exc:
            self.counters.count(error=True)
            raise OpenCodeError(f"Could not reach OpenCode for {method} {path}: {exc}") from exc
        self.counters.count(error=response.status_code >= 500)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text[:500]
        if response.status_code >= 400:
            message = body.get("data", {}).get("message") if isinstance(body, dict) else None
            raise OpenCodeError(f"OpenCode answered {response.status_code} to {method} {path}"
                                + (f": {message}" if message else ""), response.status_code, body)
        return body

    @contextlib.contextmanager
    def stream(self, method: str, path: str, *, read_timeout: float, **kwargs: Any) -> Iterator[httpx2.Response]:
        """A streamed response read in chunks (a large answer, capped by the caller: the files of a
        project on an attached server). `read_timeout` bounds the silence between two chunks."""
        httpx = _httpx()
        timeout = httpx.Timeout(connect=5.0, read=read_timeout, write=10.0, pool=5.0)
        counted = False
        try:
            with self._http.stream(method, path, timeout=timeout, **kwargs) as response:
                self.counters.count(error=response.status_code >= 500)
                counted = True
                if response.status_code >= 400:
                    raise OpenCodeError(f"OpenCode answered {response.status_code} to {method} {path}",
                                        response.status_code)
                yield response
        except httpx.HTTPError as exc:
            if not counted:
                self.counters.count(error=True)
            raise OpenCodeError(f"The stream {path} from OpenCode broke off: {exc!r}") from exc

    @contextlib.contextmanager
    def events(self, path: str, *, read_timeout: float) -> Iterator[EventStream]:
        """A server-sent event stream (nexus/server/sse.py: read in blocks, not through httpx,
        which costs more per event than the rest of the relay). `read_timeout` bounds the
        silence between two reads, so a stream that stops without closing is noticed."""
        from nexus.server.sse import EventStream

        stream = EventStream(self.base_url, path, read_timeout=read_timeout, basic_auth=self._basic_auth)
        try:
            try:
                stream.open()
            except OpenCodeError as exc:
                self.counters.count(error=exc.status is None or exc.status >= 500)
                raise
            self.counters.count(error=False)
            yield stream
        finally:
            stream.close()

    def websocket(self, path: str) -> Any:
        """A WebSocket to OpenCode (its terminals' /pty/{id}/connect), with the same
        credentials as every other call (simple-websocket, the library flask-sock uses)."""
        import base64

        from nexus import websocket_client

        headers = None
        if self._basic_auth:
            token = base64.b64encode(":".join(self._basic_auth).encode()).decode()
            headers = {"Authorization": f"Basic {token}"}
        url = "ws" + self.base_url[len("http"):] + path  # http -> ws, https -> wss
        return websocket_client.connect(url, headers=headers)

    def health(self, timeout: float = 2.0) -> dict[str, Any]:
        body = self.json("GET", "/global/health", timeout=timeout)
        if not isinstance(body, dict) or not body.get("healthy"):
            raise OpenCodeError(f"OpenCode reports itself unhealthy: {body!r}")
        return body

    def close(self) -> None:
        self._http.close()
