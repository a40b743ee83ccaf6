"""Server-sent events: the only code that knows the SSE wire format."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.schemas.events import StreamEvent

KEEPALIVE = b": keep-alive\n\n"


def encode(event: StreamEvent) -> bytes:
    """``event: <type>`` then ``data: <one-line JSON>``; no ``id:`` lines and never ``[DONE]``."""
    return b"event: " + event.type.encode() + b"\ndata: " + event.model_dump_json().encode() + b"\n\n"


async def sse(events: AsyncIterator[StreamEvent], keepalive_seconds: float) -> AsyncIterator[bytes]:
    """Encode events as they come; while the upstream is silent, send a comment every ``keepalive_seconds``
    so API Gateway's idle timeout and proxies never close a long reasoning pause.

    One task reads the events into a queue and the caller drains it: the events up to each delta leave as one
    chunk, one socket write (the first delta goes out with ``output_item.added`` and ``content_part.added``,
    the closing ``.done`` events with ``response.completed``), and no event pays for a timer of its own.
    Racing every read against the keep-alive timeout (a task and a timer per event) cost more than encoding."""
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(_QUEUED_EVENTS)
    producer = asyncio.create_task(_produce(events, queue))
    last_sent = _Clock()
    ticker = asyncio.create_task(_keepalive(queue, last_sent, keepalive_seconds))
    try:
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            end = batch[-1] is None or isinstance(batch[-1], BaseException)
            frames = [item for item in (batch[:-1] if end else batch) if isinstance(item, bytes)]
            if frames:
                last_sent.touch()
                yield b"".join(frames)
            if end:
                if isinstance(batch[-1], BaseException):
                    raise batch[-1]
                return
    finally:
        ticker.cancel()
        if not producer.done():
            producer.cancel()
        await asyncio.wait({producer, ticker})
        closer = getattr(events, "aclose", None)
        if closer is not None:
            await closer()


_QUEUED_EVENTS = 256
"""Read-ahead: past this many encoded events not yet sent, reading from the upstream waits for the client."""


class _Clock:
    def __init__(self) -> None:
        self.at = asyncio.get_running_loop().time()

    def touch(self) -> None:
        self.at = asyncio.get_running_loop().time()


async def _produce(events: AsyncIterator[StreamEvent], queue: asyncio.Queue[bytes | BaseException | None]) -> None:
    try:
        async for event in events:
            await queue.put(encode(event))
            if event.type.endswith(".delta"):
                # Let the reader send it now: a delta is what the client waits for, and an upstream that has
                # sent a burst would otherwise be read to its end before the first delta goes out.
                await asyncio.sleep(0)
    except Exception as exc:  # handed to the reader, which raises it where the caller sees it
        await queue.put(exc)
    else:
        await queue.put(None)


async def _keepalive(queue: asyncio.Queue[bytes | BaseException | None], last_sent: _Clock, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(max(0.0, last_sent.at + seconds - loop.time()))
        if loop.time() - last_sent.at >= seconds and queue.empty():
            last_sent.touch()
            queue.put_nowait(KEEPALIVE)


class EventStreamResponse(StreamingResponse):
    """Starlette's ``StreamingResponse``, watching for a hang-up with one plain task.

    Under ASGI before 2.4 (uvicorn says 2.3) Starlette races the stream against a disconnect listener in an
    anyio task group: about 0.1 ms before every stream's first byte, measured. Two asyncio tasks do the same.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        spec = scope.get("asgi", {}).get("spec_version", "2.0")
        if scope["type"] != "http" or tuple(map(int, spec.split("."))) >= (2, 4):
            await super().__call__(scope, receive, send)
            return
        streaming = asyncio.ensure_future(self.stream_response(send))
        hangup = asyncio.ensure_future(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait({streaming, hangup}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            streaming.cancel()
            hangup.cancel()
            await asyncio.wait({streaming, hangup})
        if not streaming.cancelled() and streaming.exception() is not None:
            raise streaming.exception()  # type: ignore[misc]
