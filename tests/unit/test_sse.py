"""SSE framing and keep-alives while the upstream is silent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gateway.api.sse import KEEPALIVE, encode, sse
from gateway.schemas.events import ErrorEvent, StreamEvent


def event(n: int) -> StreamEvent:
    return ErrorEvent(sequence_number=n, code=None, message=f"m{n}", param=None)


def test_frame_format() -> None:
    assert encode(event(3)) == (
        b'event: error\ndata: {"type":"error","sequence_number":3,"code":null,"message":"m3","param":null}\n\n'
    )


def test_keepalive_comments_fill_silences_and_close_the_source() -> None:
    closed = asyncio.Event()

    async def slow() -> AsyncIterator[StreamEvent]:
        try:
            yield event(0)
            await asyncio.sleep(0.35)
            yield event(1)
        finally:
            closed.set()

    async def collect() -> list[bytes]:
        return [chunk async for chunk in sse(slow(), keepalive_seconds=0.1)]

    chunks = asyncio.run(collect())

    assert chunks[0] == encode(event(0)) and chunks[-1] == encode(event(1))
    assert 2 <= chunks.count(KEEPALIVE) <= 4
    assert closed.is_set()


def test_a_client_hanging_up_mid_wait_closes_the_source_cleanly() -> None:
    closed = asyncio.Event()

    async def stalled() -> AsyncIterator[StreamEvent]:
        try:
            yield event(0)
            await asyncio.sleep(30)
            yield event(1)
        finally:
            closed.set()

    async def hang_up() -> bytes:
        stream = sse(stalled(), keepalive_seconds=10)
        first = await anext(stream)
        consumer = asyncio.ensure_future(anext(stream))  # waiting on the stalled read
        await asyncio.sleep(0.05)
        consumer.cancel()
        [outcome] = await asyncio.gather(consumer, return_exceptions=True)
        await stream.aclose()  # what Starlette does when the client disconnects
        assert isinstance(outcome, asyncio.CancelledError), outcome
        return first

    assert asyncio.run(hang_up()) == encode(event(0))
    assert closed.is_set()
