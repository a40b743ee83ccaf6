"""A recording reverse proxy between a real client and the gateway, on loopback.

Clients are run unmodified, so the only way to see exactly what they send (and what the gateway answered,
refusals included) is on the wire: every exchange is kept whole, request body decoded when it is JSON.
Responses are relayed as they arrive, so streaming clients see the gateway's timing.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.clients.peel import peel

Json = dict[str, Any]
_MAX_PEELS = 30
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


@dataclass
class Exchange:
    """One request the client sent and what the gateway answered."""

    method: str
    path: str
    headers: dict[str, str]
    raw_body: bytes
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    refusals: list[Json] = field(default_factory=list)
    """In peel mode: each refusal before the final answer (status, error, the part removed to go on)."""

    @property
    def body(self) -> Json | None:
        """The request JSON (gzip undone); ``None`` when there is none or it is not decodable here."""
        raw = self.raw_body
        if self.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        elif self.headers.get("content-encoding"):
            return None
        try:
            decoded = json.loads(raw) if raw else None
        except ValueError:
            return None
        return decoded if isinstance(decoded, dict) else None

    @property
    def error(self) -> Json | None:
        """The gateway's error envelope, when it refused the request."""
        if self.status < 400:
            return None
        try:
            decoded = json.loads(self.response_body)
        except ValueError:
            return {"unparsed": self.response_body.decode(errors="replace")}
        return decoded if isinstance(decoded, dict) else {"unparsed": decoded}

    def events(self) -> list[Json]:
        """The SSE ``data:`` payloads of a streamed answer, parsed."""
        found = []
        for line in self.response_body.decode(errors="replace").splitlines():
            if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
                found.append(json.loads(line[5:]))
        return found

    def summary(self) -> Json:
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
            "error": self.error,
            "refusals": self.refusals,
        }


def _replay(answer: httpx.Response) -> httpx.Response:
    """An already-read answer, again as a streamable response for the relay."""
    headers = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-encoding", "content-length")}
    return httpx.Response(answer.status_code, headers=headers, content=answer.content)


class RecordingProxy:
    """Forwards everything to ``target`` and keeps each ``Exchange`` in ``exchanges``, in arrival order."""

    def __init__(self, target: str, *, peel: bool = False) -> None:
        """``peel``: on a refusal naming a ``param``, drop that part and resend (diagnosis, see ``peel.py``)."""
        self.target = target.rstrip("/")
        self.peel = peel
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=httpx.Timeout(120.0, connect=5.0), trust_env=False)

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def refused(self) -> list[Exchange]:
        return [exchange for exchange in self.exchanges if exchange.status >= 400]

    def send(self, method: str, path: str, headers: dict[str, str], raw: bytes, exchange: Exchange) -> httpx.Response:
        """Forward once, or in peel mode until the gateway accepts or names nothing to remove."""
        body = exchange.body if self.peel else None
        for _ in range(_MAX_PEELS):
            request = self._http.build_request(method, self.target + path, headers=headers, content=raw)
            answer = self._http.send(request, stream=True)
            if body is None or answer.status_code < 400:
                return answer
            error = json.loads(answer.read() or b"null")
            param = (error or {}).get("error", {}).get("param") if isinstance(error, dict) else None
            peeled = peel(body, param)
            if peeled is None:
                return _replay(answer)
            answer.close()
            body, removed = peeled
            exchange.refusals.append({"status": answer.status_code, "error": error, "removed": removed})
            raw = json.dumps(body).encode()
            headers = {k: v for k, v in headers.items() if k != "content-encoding"}
        raise RuntimeError(f"still refused after {_MAX_PEELS} peels: {exchange.refusals[-1]}")

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on a free loopback port; yields ``http://127.0.0.1:N`` (append ``/v1`` for clients)."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="recording-proxy", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            self._http.close()


def _handler_for(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _relay(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {key.lower(): value for key, value in self.headers.items()}
            exchange = Exchange(self.command, self.path, headers, raw)
            proxy.record(exchange)
            forwarded = {key: value for key, value in headers.items() if key not in _HOP_BY_HOP}
            answer = proxy.send(self.command, self.path, forwarded, raw, exchange)
            try:
                exchange.status = answer.status_code
                exchange.response_headers = dict(answer.headers)
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in _HOP_BY_HOP and key.lower() != "content-encoding":
                        self.send_header(key, value)
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body.extend(chunk)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                exchange.response_body = bytes(body)
            finally:
                answer.close()

        do_GET = do_POST = do_DELETE = do_PUT = _relay

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``proxy.exchanges``."""

    return Handler
