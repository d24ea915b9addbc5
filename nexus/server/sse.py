"""OpenCode's event stream, read in blocks: the data of each server-sent event, as bytes.

OpenCode writes every event as its own HTTP chunk, and a reply arrives as bursts of ~2,000
deltas within 100 ms. Read through httpx, each chunk passes h11, httpcore and four httpx
decoders one by one (~15 µs of CPU per event on the 2-core machine, more than the whole hub).
Here the socket is read up to 64 KB at a time and the chunk framing and the event
boundaries are cut with `bytes.find`, so a burst costs a few Python calls per event.

Only what OpenCode sends is supported: `data:` lines (several are joined with "\\n" as the
SSE standard says), comments and other fields are skipped, lines end in "\\n" or "\\r\\n",
and the body is chunked or runs until the connection closes. Anything else in the headers
(an error status) raises `OpenCodeError` before the first event.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

from nexus.server.client import OpenCodeError

# A burst in the socket is handled this much at a time: between two reads the reader lets go of
# the GIL, so the thread that sends to browsers is not kept waiting for a whole 64 KB of events.
BLOCK = 16384


class EventStream:
    """One GET of a server-sent event stream. `events()` yields each event's data; `close()`
    (from any thread) ends it, waking a reader blocked in `recv`."""

    def __init__(self, base_url: str, path: str, *, read_timeout: float, connect_timeout: float = 5.0,
                 basic_auth: tuple[str, str] | None = None) -> None:
        url = urlsplit(base_url)
        self.path = (url.path.rstrip("/") + path) or "/"
        port = url.port or (443 if url.scheme == "https" else 80)
        if url.scheme == "https":
            self._conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                url.hostname or "", port, timeout=connect_timeout, context=ssl.create_default_context())
        else:
            self._conn = http.client.HTTPConnection(url.hostname or "", port, timeout=connect_timeout)
        self._read_timeout = read_timeout
        self._headers = {"User-Agent": "nexus", "Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if basic_auth:
            token = base64.b64encode(":".join(basic_auth).encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._response: http.client.HTTPResponse | None = None
        self._closed = False

    def open(self) -> int:
        """Send the request and read the headers; returns the HTTP status (>= 400 raises)."""
        try:
            self._conn.request("GET", self.path, headers=self._headers)
            response = self._conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise OpenCodeError(f"The stream {self.path} from OpenCode broke off: {exc!r}") from exc
        if response.status >= 400:
            response.close()
            raise OpenCodeError(f"OpenCode answered {response.status} to GET {self.path}", response.status)
        if self._conn.sock is not None:
            self._conn.sock.settimeout(self._read_timeout)  # the longest silence between two reads
        self._response = response
        return response.status

    def events(self) -> Iterator[bytes]:
        """The data of each event, as it arrives (see `batches`)."""
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[bytes]]:
        """The data of the events that came in one read, in order, as soon as they are complete;
        raises OpenCodeError when the stream breaks or stays silent longer than `read_timeout`,
        returns when it ends (or `close()` was called)."""
        response = self._response
        if response is None:
            raise RuntimeError("open() first")
        chunked = response.chunked
        raw = response.fp  # a buffered reader on the socket, just past the headers
        pending = b""  # bytes read but not yet de-chunked
        chunk_left = 0  # body bytes still to come in the current chunk
        crlf_left = 0  # bytes of the CRLF that ends a chunk's data, still to skip
        text = b""  # de-chunked body not yet cut into events
        ended = False  # the last chunk came: cut what is left, then stop
        try:
            while not ended:
                block = raw.read1(BLOCK)
                if not block:
                    return  # the server closed the stream (or close() did)
                if chunked:
                    buf = pending + block if pending else block
                    pos, size_of_buf, body = 0, len(buf), []
                    while pos < size_of_buf:
                        if chunk_left:
                            take = min(chunk_left, size_of_buf - pos)
                            body.append(buf[pos:pos + take])
                            pos += take
                            chunk_left -= take
                            crlf_left = 0 if chunk_left else 2
                        elif crlf_left:
                            skip = min(crlf_left, size_of_buf - pos)
                            pos += skip
                            crlf_left -= skip
                        else:
                            end = buf.find(b"\r\n", pos)
                            if end < 0:
                                break  # the size line is not complete yet
                            chunk_left = int(buf[pos:end].split(b";", 1)[0], 16)
                            pos = end + 2
                            if chunk_left == 0:
                                ended = True  # the last chunk: the stream ended
                                break
                    pending = buf[pos:]
                    text += b"".join(body)
                else:
                    text += block
                keep = b""
                if b"\r" in text:
                    if text.endswith(b"\r"):  # its "\n" may come with the next block
                        keep, text = b"\r", text[:-1]
                    text = text.replace(b"\r\n", b"\n")
                start = 0
                batch = []
                while (end := text.find(b"\n\n", start)) >= 0:
                    event = text[start:end]
                    start = end + 2
                    if event.startswith(b"data: ") and b"\n" not in event:
                        batch.append(event[6:])  # what OpenCode sends: one data line
                        continue
                    data = [_field_value(line) for line in event.split(b"\n") if line.startswith(b"data:")]
                    if data:
                        batch.append(b"\n".join(data))
                text = text[start:] + keep
                if batch:
                    yield batch
        except (OSError, ValueError, http.client.HTTPException) as exc:
            if self._closed:
                return
            raise OpenCodeError(f"The stream {self.path} from OpenCode broke off: {exc!r}") from exc

    def close(self) -> None:
        self._closed = True
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a recv blocked in another thread
            except OSError:
                pass
        self._conn.close()


def _field_value(line: bytes) -> bytes:
    """`data:value` or `data: value`: the SSE standard drops one space after the colon."""
    value = line[5:]
    return value[1:] if value.startswith(b" ") else value
