"""``WireClient``: the latency probe's client, a blocking HTTP/1.1 keep-alive socket parsed by httptools.

The probe times one request at a time, gateway and direct alternately, and reports the difference. Its client
runs on the same two cores as the gateway and the upstream, so whatever CPU it burns per request competes
with the very thing measured: httpx's sync client took 1.6-2 ms of CPU per call, more than the gateway, and
the added-latency medians drifted by up to 0.8 ms from one run to the next. This client spends a few tens of
microseconds: a socket, one ``sendall``, ``recv`` into the C parser.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httptools


class _Reply:
    """httptools callbacks: the status, whether the connection stays open, and the body so far."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.keep_alive = False
        self.complete = False

    def on_headers_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()  # llhttp forgets it once the message completes

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True

    parser: httptools.HttpResponseParser


class WireClient:
    """One keep-alive connection per origin; ``exchange`` sends a POST and reads the reply to its end."""

    def __init__(self, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._sockets: dict[tuple[str, int], socket.socket] = {}

    def exchange(
        self, url: str, headers: dict[str, str], body: bytes, marker: bytes | None = None
    ) -> tuple[int, float, float | None, bytes]:
        """(status, seconds to the whole reply, seconds until ``marker`` had arrived in the body, body)."""
        parts = urlsplit(url)
        origin = (parts.hostname or "127.0.0.1", parts.port or 80)
        head = [f"POST {parts.path or '/'} HTTP/1.1", f"host: {origin[0]}:{origin[1]}", f"content-length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        reply = _Reply()
        parser = reply.parser = httptools.HttpResponseParser(reply)
        connection = self._connection(origin)
        first: float | None = None
        start = time.perf_counter()
        connection.sendall(request)
        while not reply.complete:
            data = connection.recv(65536)
            if not data:
                self.close()
                raise ConnectionError(f"{url}: the server closed the connection mid-reply")
            parser.feed_data(data)
            if marker is not None and first is None and marker in reply.body:
                first = time.perf_counter() - start
        elapsed = time.perf_counter() - start
        if not reply.keep_alive:
            self._sockets.pop(origin).close()
        return parser.get_status_code(), elapsed, first, bytes(reply.body)

    def close(self) -> None:
        for connection in self._sockets.values():
            connection.close()
        self._sockets.clear()

    def _connection(self, origin: tuple[str, int]) -> socket.socket:
        connection = self._sockets.get(origin)
        if connection is None:
            connection = socket.create_connection(origin, timeout=self._timeout)
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets[origin] = connection
        return connection
