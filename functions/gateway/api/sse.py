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
    the closing ``.done`` events with ``response.completed``). Keep-alives come from a timer that re-arms
    itself, not a task. Racing every read against the keep-alive timeout (a task and a timer per event) cost
    more than encoding, and each task started per stream costs tens of microseconds before the first byte."""
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(_QUEUED_EVENTS)
    producer = asyncio.create_task(_produce(events, queue))
    keepalive = _KeepAlive(queue, keepalive_seconds)
    try:
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            end = batch[-1] is None or isinstance(batch[-1], BaseException)
            frames = [item for item in (batch[:-1] if end else batch) if isinstance(item, bytes)]
            if frames:
                keepalive.sent()
                yield b"".join(frames)
            if end:
                if isinstance(batch[-1], BaseException):
                    raise batch[-1]
                return
    finally:
        keepalive.stop()
        if not producer.done():
            producer.cancel()
        await asyncio.wait({producer})
        closer = getattr(events, "aclose", None)
        if closer is not None:
            await closer()


_QUEUED_EVENTS = 256
"""Read-ahead: past this many encoded events not yet sent, reading from the upstream waits for the client."""


class _KeepAlive:
    """Queues a keep-alive comment once nothing was sent for ``seconds``; one timer, re-armed when it fires."""

    def __init__(self, queue: asyncio.Queue[bytes | BaseException | None], seconds: float) -> None:
        self._queue = queue
        self._seconds = seconds
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self._timer = self._loop.call_at(self._last + seconds, self._fire)

    def sent(self) -> None:
        self._last = self._loop.time()

    def stop(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        now = self._loop.time()
        if now - self._last >= self._seconds and self._queue.empty():
            self._last = now
            self._queue.put_nowait(KEEPALIVE)
        self._timer = self._loop.call_at(self._last + self._seconds, self._fire)


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


class EventStreamResponse(StreamingResponse):
    """Starlette's ``StreamingResponse``, streaming in the request's own task.

    Under ASGI before 2.4 (uvicorn says 2.3) Starlette runs the stream and a disconnect listener as two tasks in
    an anyio task group; two tasks and their teardown cost ~0.1 ms before every stream's first byte (measured).
    Here only the listener is a task: when the client hangs up it cancels the stream where it waits, and the
    cancellation it caused is taken back, as ``asyncio.timeout`` does with its own.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        spec = scope.get("asgi", {}).get("spec_version", "2.0")
        if scope["type"] != "http" or tuple(map(int, spec.split("."))) >= (2, 4):
            await super().__call__(scope, receive, send)
            return
        task = asyncio.current_task()
        assert task is not None
        streaming, hung_up = True, False

        def hang_up(listener: asyncio.Future[None]) -> None:
            # Runs from the loop; ``streaming`` is cleared before this method returns, so a listener finishing
            # just as the stream does cannot cancel whatever the request's task awaits next.
            nonlocal hung_up
            if streaming and not listener.cancelled() and listener.exception() is None:
                hung_up = True
                task.cancel()

        listener = asyncio.ensure_future(self.listen_for_disconnect(receive))
        listener.add_done_callback(hang_up)
        try:
            await self.stream_response(send)
        except asyncio.CancelledError:
            if not hung_up or task.uncancel() > 0:
                raise
        finally:
            streaming = False
            listener.cancel()
