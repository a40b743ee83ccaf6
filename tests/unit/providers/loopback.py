"""A raw HTTP/1.1 upstream on 127.0.0.1 whose handler scripts every byte, for ``OpenAIChatProvider`` on the wire.

The provider is built by ``ProviderRegistry`` exactly as deployed (the real httpx client, no transport swapped
in), so these tests cover the library's framing, pooling, timeouts and TLS as the gateway configures them.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

from gateway.domain.context import normalize_input
from gateway.domain.upstream import ModelRequest, Provider, ProviderEvent
from gateway.providers.registry import ProviderRegistry
from gateway.schemas.requests import ResponseCreateParams
from gateway.settings import Settings
from tests.fakes.opened import enter

Handler = Callable[["Upstream", asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR")


class Upstream:
    """``handler`` runs for each accepted connection (numbered from 1). ``requests`` records (connection, head,
    body) of every request a handler read; ``eofs`` counts connections the client closed while one waited."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.accepts = 0
        self.eofs = 0
        self.requests: list[tuple[int, bytes, bytes]] = []
        self.errors: list[BaseException] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> Upstream:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.tls)
        self.port: int = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.close()
        for writer in self._writers:
            writer.close()  # handlers waiting on a read see EOF and end
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=1)
        if kind is None and self.errors:
            raise self.errors[0]

    def base_url(self, scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}/v1"

    async def read_request(self, reader: asyncio.StreamReader, connection: int) -> bytes | None:
        """The next request's body, or None once the client closed the connection."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.eofs += 1
            return None
        length = re.search(rb"(?im)^content-length: *(\d+)", head)
        body = await reader.readexactly(int(length.group(1))) if length else b""
        self.requests.append((connection, head, body))
        return body

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepts += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        try:
            await self.handler(self, reader, writer, self.accepts)
        except Exception as exc:  # surfaced by __aexit__: a broken script must fail its test
            self.errors.append(exc)
        finally:
            writer.close()


def replying(*replies: bytes) -> Handler:
    """Answers each request, on whichever connection, with the next reply; keeps every connection open."""
    queue = deque(replies)

    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while await up.read_request(reader, n) is not None:
            writer.write(queue.popleft())
            await writer.drain()

    return handler


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def frame(**delta: Any) -> bytes:
    """One SSE event carrying a chunk with this delta (``finish`` sets its finish_reason)."""
    finish = delta.pop("finish", None)
    chunk_object = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(chunk_object).encode() + b"\n\n"


def stream_of(*texts: str) -> list[bytes]:
    """The SSE events of a reply saying ``texts`` and stopping, ``[DONE]`` included."""
    return [*(frame(content=text) for text in texts), frame(finish="stop"), b"data: [DONE]\n\n"]


def chunked(*events: bytes, head: bytes = SSE_HEAD) -> bytes:
    return head + b"".join(chunk(event) for event in events) + b"0\r\n\r\n"


def sized(body: bytes, extra: bytes = b"", status: bytes = b"200 OK", kind: bytes = b"text/event-stream") -> bytes:
    head = b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n%s\r\n" % (status, kind, len(body), extra)
    return head + body


def header_map(head: bytes) -> dict[bytes, bytes]:
    lines = head.split(b"\r\n")[1:]
    return {name.strip().lower(): value.strip() for name, _, value in (line.partition(b":") for line in lines if line)}


async def eventually(condition: Callable[[], bool]) -> bool:
    for _ in range(100):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


def model_request(text: str = "hi") -> ModelRequest:
    params = ResponseCreateParams.model_validate({"model": "m", "input": text})
    return ModelRequest("m", None, normalize_input(params.input, "0" * 24, {}), params)


@asynccontextmanager
async def chat_provider(base_url: str, **settings: Any) -> AsyncIterator[Provider]:
    """The ``openai`` provider for ``base_url``, built by the registry as deployed; the pool closed after."""
    registry = ProviderRegistry(Settings(openai_base_url=base_url, openai_api_key="sk-test", **settings))
    try:
        yield registry.resolve("openai/m")[0]
    finally:
        await registry.aclose()


async def call(provider: Provider, text: str = "hi") -> list[ProviderEvent]:
    """One whole upstream call: its events, read to the end."""
    stream = await enter(provider.open(model_request(text)))
    return [event async for event in stream.events]
