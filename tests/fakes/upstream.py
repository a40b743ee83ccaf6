"""A fake OpenAI-compatible Chat Completions upstream, faked at the network boundary.

One script, two transports: ``transport()`` (an ``httpx.MockTransport`` for in-process tests) and ``serve()``
(a real HTTP server on loopback, for the SDK suite and benchmarks). Every request body is recorded so tests
assert on exactly what the gateway sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.fakes import strict as strict_mode

Json = dict[str, Any]


@dataclass
class Reply:
    """One scripted upstream answer: an SSE stream of chunks, or an error status with a JSON body."""

    chunks: list[Json] = field(default_factory=list)
    status: int = 200
    body: Json | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before each chunk."""
    done: bool = True
    """Send ``data: [DONE]`` at the end (False simulates a connection dropped mid-stream)."""

    def frames(self) -> list[bytes]:
        frames = [b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in self.chunks]
        if self.done:
            frames.append(b"data: [DONE]\n\n")
        return frames


def _chunk(delta: Json, finish: str | None = None) -> Json:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def usage_chunk(prompt: int = 11, completion: int = 7, cached: int = 0, reasoning: int = 0) -> Json:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "fake-model",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        },
    }


def text_reply(
    *pieces: str, finish: str = "stop", usage: Json | None = None, reasoning: tuple[str, ...] = (), delay: float = 0.0
) -> Reply:
    """A streamed text answer, one chunk per piece (and reasoning pieces first, as vLLM/DeepSeek send them)."""
    chunks = [_chunk({"role": "assistant", "content": ""})]
    chunks += [_chunk({"reasoning_content": piece}) for piece in reasoning]
    chunks += [_chunk({"content": piece}) for piece in pieces]
    chunks.append(_chunk({}, finish))
    chunks.append(usage or usage_chunk())
    return Reply(chunks=chunks, delay=delay)


def tool_reply(*calls: tuple[str, str, str], text: str = "", split: int = 2) -> Reply:
    """Streamed tool calls ``(call_id, name, arguments)``; arguments arrive in ``split`` pieces each."""
    chunks = [_chunk({"role": "assistant", "content": text or None})]
    for index, (call_id, name, arguments) in enumerate(calls):
        head = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
        chunks.append(_chunk({"tool_calls": [head]}))
        size = max(1, -(-len(arguments) // split))
        for start in range(0, len(arguments), size):
            piece = {"index": index, "function": {"arguments": arguments[start : start + size]}}
            chunks.append(_chunk({"tool_calls": [piece]}))
    chunks.append(_chunk({}, "tool_calls"))
    chunks.append(usage_chunk())
    return Reply(chunks=chunks)


def error_reply(status: int, message: str, *, code: str | None = None, headers: dict[str, str] | None = None) -> Reply:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
    return Reply(status=status, body=body, headers=headers or {})


class FakeUpstream:
    """Records requests; answers from a script, or by echoing the last user message when the script is empty.

    ``strict=True`` validates strict schemas as OpenAI does (``tests/fakes/strict.py``): a request with a strict
    tool or response format whose schema strict mode rejects gets OpenAI's 400, and the script is left untouched.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.requests: list[Json] = []
        self.headers: list[dict[str, str]] = []
        self._script: deque[Reply | Callable[[Json], Reply]] = deque()
        self._lock = threading.Lock()

    def will(self, *replies: Reply | Callable[[Json], Reply]) -> None:
        self._script.extend(replies)

    @property
    def last(self) -> Json:
        return self.requests[-1]

    def respond(self, body: Json, headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            refused = strict_mode.refusal(body) if self.strict else None
            scripted = self._script.popleft() if self._script and refused is None else None
        if refused is not None:
            return Reply(status=400, body=refused)
        if scripted is None:
            return echo(body)
        return scripted(body) if callable(scripted) else scripted

    def transport(self) -> httpx.MockTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            reply = self.respond(json.loads(request.content), dict(request.headers))
            if reply.status >= 400:
                return httpx.Response(reply.status, json=reply.body, headers=reply.headers)

            async def stream() -> AsyncIterator[bytes]:
                for frame in reply.frames():
                    if reply.delay:
                        await asyncio.sleep(reply.delay)
                    yield frame

            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream())

        return httpx.MockTransport(handle)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on a free loopback port; yields the base URL (``http://127.0.0.1:N/v1``)."""
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/v1"
        finally:
            server.shutdown()
            server.server_close()


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 resets connections when a gateway under load opens dozens at once.
    request_queue_size = 128
    daemon_threads = True


def echo(body: Json) -> Reply:
    """Default answer: ``echo: <last user text>``, split in three pieces."""
    last = next((m for m in reversed(body.get("messages", [])) if m.get("role") == "user"), None)
    content = last.get("content") if last else ""
    if isinstance(content, list):
        content = " ".join(part.get("text", "") for part in content if part.get("type") == "text")
    text = f"echo: {content}"
    third = max(1, len(text) // 3)
    return text_reply(text[:third], text[third : 2 * third], text[2 * third :])


def _handler_for(fake: FakeUpstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Without this every small write waits ~40 ms on Nagle + delayed ACK, and timings mean nothing.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length))
            reply = fake.respond(body, {key.lower(): value for key, value in self.headers.items()})
            if reply.status >= 400:
                payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for key, value in {"content-type": "application/json", **reply.headers}.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for frame in reply.frames():
                if reply.delay:
                    time.sleep(reply.delay)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.flush()
            if reply.done:
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests and benchmarks read the recorded requests instead."""

    return Handler
