"""SSE framing and keep-alives while the upstream is silent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.api.sse import KEEPALIVE, EventStreamResponse, encode, sse
from gateway.schemas.events import ErrorEvent, OutputTextDeltaEvent, StreamEvent


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


def test_events_ready_together_leave_in_one_write() -> None:
    async def bursts() -> AsyncIterator[StreamEvent]:
        yield event(0)
        yield event(1)  # no suspension between these two: one upstream chunk that made two events
        await asyncio.sleep(0.01)
        yield event(2)

    async def collect() -> list[bytes]:
        return [chunk async for chunk in sse(bursts(), keepalive_seconds=10)]

    assert asyncio.run(collect()) == [encode(event(0)) + encode(event(1)), encode(event(2))]


def test_a_failing_source_fails_the_stream_after_what_it_sent() -> None:
    async def failing() -> AsyncIterator[StreamEvent]:
        yield event(0)
        await asyncio.sleep(0)
        raise RuntimeError("broken")

    async def collect() -> tuple[list[bytes], BaseException | None]:
        chunks: list[bytes] = []
        try:
            async for chunk in sse(failing(), keepalive_seconds=10):
                chunks.append(chunk)
        except RuntimeError as exc:
            return chunks, exc
        return chunks, None

    chunks, error = asyncio.run(collect())
    assert chunks == [encode(event(0))]
    assert isinstance(error, RuntimeError) and str(error) == "broken"


def test_a_delta_is_sent_before_the_rest_of_a_burst_is_read() -> None:
    delta = OutputTextDeltaEvent(sequence_number=1, item_id="msg_1", output_index=0, content_index=0, delta="Hi")
    log: list[str] = []

    async def burst() -> AsyncIterator[StreamEvent]:
        yield event(0)
        yield delta
        log.append("read on")  # a burst already buffered upstream: nothing here suspends
        yield event(2)

    async def collect() -> list[bytes]:
        chunks = []
        async for chunk in sse(burst(), keepalive_seconds=10):
            log.append("sent")
            chunks.append(chunk)
        return chunks

    assert asyncio.run(collect()) == [encode(event(0)) + encode(delta), encode(event(2))]
    assert log == ["sent", "read on", "sent"]


HTTP_SCOPE = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}}


def test_the_response_ends_the_body_after_the_last_event() -> None:
    async def two() -> AsyncIterator[StreamEvent]:
        yield event(0)
        await asyncio.sleep(0)
        yield event(1)

    async def serve() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            await asyncio.sleep(30)  # the client stays
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await EventStreamResponse(sse(two(), 10), media_type="text/event-stream")(HTTP_SCOPE, receive, send)
        return sent

    start, *bodies = asyncio.run(asyncio.wait_for(serve(), 5))
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert b"".join(body["body"] for body in bodies) == encode(event(0)) + encode(event(1))
    assert bodies[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_a_client_hanging_up_stops_the_stream_and_closes_the_source() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[StreamEvent]:
        try:
            n = 0
            while True:
                yield event(n)
                n += 1
                await asyncio.sleep(0.01)
        finally:
            closed.set()

    async def serve() -> int:
        first_body = asyncio.Event()
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            await first_body.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body":
                first_body.set()

        await EventStreamResponse(sse(endless(), 10), media_type="text/event-stream")(HTTP_SCOPE, receive, send)
        return len(sent)

    sent = asyncio.run(asyncio.wait_for(serve(), 5))  # returns: the endless source does not keep it going
    assert sent <= 3
    assert closed.is_set()


def test_a_failing_stream_raises_out_of_the_response() -> None:
    async def failing() -> AsyncIterator[StreamEvent]:
        yield event(0)
        raise RuntimeError("broken")

    async def serve() -> None:
        async def receive() -> dict[str, Any]:
            await asyncio.sleep(30)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            pass

        await EventStreamResponse(sse(failing(), 10), media_type="text/event-stream")(HTTP_SCOPE, receive, send)

    with pytest.raises(RuntimeError, match="broken"):
        asyncio.run(asyncio.wait_for(serve(), 5))


def test_a_hang_up_as_the_stream_ends_does_not_cancel_what_the_request_does_next() -> None:
    async def one() -> AsyncIterator[StreamEvent]:
        yield event(0)

    async def serve() -> str:
        ended = asyncio.Event()

        async def receive() -> dict[str, Any]:
            await ended.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                ended.set()  # the client leaves the moment the last byte is out, and its listener finishes
                await asyncio.sleep(0)  # while the request's task is still on its way out of the response

        await EventStreamResponse(sse(one(), 10), media_type="text/event-stream")(HTTP_SCOPE, receive, send)
        await asyncio.sleep(0.05)  # the request's task goes on: a late hang-up must not cancel it here
        return "finished"

    assert asyncio.run(asyncio.wait_for(serve(), 5)) == "finished"
