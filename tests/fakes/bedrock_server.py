"""A fake Amazon Bedrock runtime endpoint on loopback, for a gateway running as its own process.

``FakeBedrock`` in ``bedrock.py`` answers inside botocore, which a separate ``python -m gateway.dev`` process
cannot share. This serves the same frames over real HTTP (``AWS_NOTES.md`` §4, option 3): point the process at
it with ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` and botocore's own client and event-stream parser read the reply.
Only ``POST /model/{id}/converse-stream`` is answered; a ``policy`` decides each reply from the request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from tests.fakes.bedrock import Reply, frame

Json = dict[str, Any]
Policy = Callable[[str, Json], Reply]
"""``(model id, ConverseStream request JSON) -> reply``."""


class BedrockEndpoint:
    """Records every ConverseStream call (model id, JSON body, headers) and answers it with ``policy``."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.calls: list[tuple[str, Json]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()

    @property
    def requests(self) -> list[Json]:
        return [body for _, body in self.calls]

    def answer(self, model_id: str, body: Json, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.calls.append((model_id, body))
            self.headers.append(headers)
        return self.policy(model_id, body)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on a free loopback port; yields the endpoint URL for ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="fake-bedrock", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def _handler_for(endpoint: BedrockEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            path = self.path.split("?", 1)[0]
            if not (path.startswith("/model/") and path.endswith("/converse-stream")):
                self._error(404, "UnknownOperationException", f"the fake serves ConverseStream only, not {path}")
                return
            model_id = unquote(path.removeprefix("/model/").removesuffix("/converse-stream"))
            reply = endpoint.answer(model_id, body, {key.lower(): value for key, value in self.headers.items()})
            if reply.error_code is not None:
                self._error(reply.status, reply.error_code, reply.error_message)
                return
            self.send_response(200)
            self.send_header("content-type", "application/vnd.amazon.eventstream")
            self.send_header("x-amzn-requestid", "fake-request")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for event in reply.events:
                data = frame(*event)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def _error(self, status: int, code: str, message: str) -> None:
            payload = json.dumps({"message": message}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("x-amzn-errortype", f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``endpoint.calls``."""

    return Handler
