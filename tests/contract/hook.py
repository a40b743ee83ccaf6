"""Watch every reply a FastAPI app sends, from the app's side of the socket, and judge it as it goes.

Works for every way the tests run the gateway (TestClient, uvicorn, the Mangum handler) because it wraps
``FastAPI.__call__`` itself. Each SSE event is judged as soon as its frame is complete and before the bytes reach
the client, so a violation is recorded before the test can see the event that carried it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from tests.contract import judge
from tests.contract.judge import Violation

JUDGED_PREFIX = "/v1/"


@dataclass
class Sink:
    """Where verdicts go: the current test's violations, and counts for the whole session."""

    violations: list[Violation] = field(default_factory=list)
    bodies: int = 0
    events: int = 0
    unjudged: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def judged(self, found: list[Violation], *, events: int = 0) -> None:
        with self._lock:
            self.bodies += 0 if events else 1
            self.events += events
            self.violations.extend(found)

    def skipped(self, route: str) -> None:
        with self._lock:
            self.unjudged[route] += 1

    def take(self) -> list[Violation]:
        with self._lock:
            taken, self.violations = self.violations, []
        return taken


class Exchange:
    """One request's reply as the app sends it."""

    def __init__(self, method: str, path: str, sink: Sink) -> None:
        self.method, self.path, self.sink = method, path, sink
        self.status = 0
        self.media = ""
        self.encoding = "identity"
        self.body = bytearray()
        self.pending = bytearray()

    @property
    def where(self) -> str:
        return f"{self.method} {self.path} {self.status}"

    def sent(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = {bytes(k).lower(): bytes(v) for k, v in message.get("headers", [])}
            self.media = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip()
            self.encoding = headers.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
            if self.encoding != "identity":  # the gateway compresses no reply today; say so if one day it does
                self.sink.skipped(f"{self.where} Content-Encoding: {self.encoding}")
        elif message["type"] == "http.response.body" and self.encoding == "identity":
            chunk = bytes(message.get("body", b""))
            if self.media == "text/event-stream" and self.status < 400:
                self._stream(chunk, more=message.get("more_body", False))
            else:
                self.body += chunk
                if not message.get("more_body", False):
                    self._whole()

    def _stream(self, chunk: bytes, *, more: bool) -> None:
        self.pending += chunk
        while (end := self.pending.find(b"\n\n")) >= 0:
            frame, self.pending = bytes(self.pending[: end + 2]), self.pending[end + 2 :]
            for payload, name in judge.sse_events(frame):
                self.sink.judged(self._at(judge.framed(name, payload), f"event {name}"), events=1)
        if not more and self.pending.strip():
            cut = Violation(
                "wire", "sse", "", None, "frame", f"stream ended inside an event: {bytes(self.pending)[:80]!r}"
            )
            self.sink.judged(self._at([cut], "end of stream"))

    def _whole(self) -> None:
        if self.status < 400 and not judge.is_judged(self.method, self.path):
            self.sink.skipped(f"{self.method} {self.path.rsplit('/', 1)[0]}/… {self.status}")
            return
        self.sink.judged(self._at(judge.reply(self.method, self.path, self.status, self.media, bytes(self.body)), ""))

    def _at(self, found: list[Violation], what: str) -> list[Violation]:
        where = f"{self.where} {what}".strip()
        return [Violation(**{**v.__dict__, "where": where}) for v in found]


def install(sink: Sink) -> Callable[[], None]:
    """Judge every reply of every FastAPI app in this process until the returned function is called."""
    original: Any = FastAPI.__call__

    async def judged_call(self: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(JUDGED_PREFIX):
            await original(self, scope, receive, send)
            return
        exchange = Exchange(scope["method"], scope["path"], sink)

        async def observed(message: Message) -> None:
            try:
                exchange.sent(message)
            except Exception as exc:  # the judge's own failure must not turn into a 500 from the app
                sink.judged([Violation("judge", "crash", "", None, "crash", repr(exc), exchange.where)])
            await send(message)

        await original(self, scope, receive, observed)

    FastAPI.__call__ = judged_call  # type: ignore[method-assign]
    return lambda: setattr(FastAPI, "__call__", original)
