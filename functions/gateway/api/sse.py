"""Server-sent events: the only code that knows the SSE wire format."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gateway.schemas.events import StreamEvent

KEEPALIVE = b": keep-alive\n\n"


def encode(event: StreamEvent) -> bytes:
    """``event: <type>`` then ``data: <one-line JSON>``; no ``id:`` lines and never ``[DONE]``."""
    return b"event: " + event.type.encode() + b"\ndata: " + event.model_dump_json().encode() + b"\n\n"


async def sse(events: AsyncIterator[StreamEvent], keepalive_seconds: float) -> AsyncIterator[bytes]:
    """Encode events as they come; while the upstream is silent, send a comment every ``keepalive_seconds``
    so API Gateway's idle timeout and proxies never close a long reasoning pause."""
    iterator = aiter(events)
    pending: asyncio.Future[StreamEvent] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=keepalive_seconds)
            if not done:
                yield KEEPALIVE
                continue
            try:
                event = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield encode(event)
    finally:
        if pending is not None:
            # The generator is still running that read: let the cancellation land before closing it, or
            # aclose() fails with "asynchronous generator is already running".
            pending.cancel()
            await asyncio.wait({pending})
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()
