"""The SSE response as the ASGI server sees it: frames, keep-alives, hang-ups and failing sources."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from starlette.types import Message, Receive

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.api.sse import event_stream
from gateway.providers.registry import ProviderRegistry
from gateway.schemas.events import ErrorEvent, StreamEvent
from tests.conftest import make_settings
from tests.unit.providers.loopback import SSE_HEAD, Upstream, chunk, eventually, frame

HTTP_SCOPE = {"type": "http", "method": "POST", "asgi": {"version": "3.0", "spec_version": "2.3"}}
"""What uvicorn passes (ASGI HTTP spec 2.3): Starlette and sse-starlette watch for the disconnect themselves."""


def event(n: int) -> StreamEvent:
    return ErrorEvent(sequence_number=n, code=None, message=f"m{n}", param=None)


def wire(n: int) -> bytes:
    """``event(n)`` as it must appear on the wire, spelled out by hand."""
    data = f'{{"type":"error","sequence_number":{n},"code":null,"message":"m{n}","param":null}}'
    return f"event: error\ndata: {data}\n\n".encode()


async def stays() -> Message:
    await asyncio.sleep(30)
    return {"type": "http.disconnect"}


async def serve(
    events: AsyncIterator[StreamEvent],
    receive: Receive = stays,
    *,
    keepalive: float = 10,
    on_send: Callable[[Message], Awaitable[None]] | None = None,
    headers: dict[str, str] | None = None,
) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        if on_send is not None:
            await on_send(message)

    response = event_stream(events, keepalive, headers)
    await asyncio.wait_for(response(HTTP_SCOPE, receive, send), 5)
    return sent


def bodies(sent: list[Message]) -> list[bytes]:
    return [message["body"] for message in sent if message["type"] == "http.response.body" and message["body"]]


def test_each_event_is_one_frame_with_the_sse_headers_and_the_body_then_ends() -> None:
    async def two() -> AsyncIterator[StreamEvent]:
        yield event(0)
        await asyncio.sleep(0)
        yield event(1)

    start, *rest = asyncio.run(serve(two(), headers={"x-responses-omitted-tools": "web_search"}))

    assert start["type"] == "http.response.start" and start["status"] == 200
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"
    assert headers["x-responses-omitted-tools"] == "web_search"
    assert bodies(rest) == [wire(0), wire(1)]  # no id: lines, no [DONE]
    assert rest[-1] == {"type": "http.response.body", "body": b"", "more_body": False}


def test_data_is_one_line_of_json_whatever_the_text_holds() -> None:
    text = 'line one\nline two\r\n"quoted"'

    async def one() -> AsyncIterator[StreamEvent]:
        yield ErrorEvent(sequence_number=0, code=None, message=text, param=None)

    [body] = bodies(asyncio.run(serve(one())))

    kind, data, *rest = body.split(b"\n")
    assert kind == b"event: error" and rest == [b"", b""]
    assert json.loads(data.removeprefix(b"data: "))["message"] == text


def test_keepalive_comments_fill_silences_and_the_source_is_closed_at_the_end() -> None:
    closed = asyncio.Event()

    async def slow() -> AsyncIterator[StreamEvent]:
        try:
            yield event(0)
            await asyncio.sleep(0.35)
            yield event(1)
        finally:
            closed.set()

    async def main() -> list[bytes]:
        sent = bodies(await serve(slow(), keepalive=0.1))
        assert closed.is_set()
        return sent

    sent = asyncio.run(main())
    assert sent[0] == wire(0) and sent[-1] == wire(1)
    assert 2 <= sent.count(b": keep-alive\n\n") <= 4
    assert len(sent) == 2 + sent.count(b": keep-alive\n\n")


def test_a_client_hanging_up_while_the_source_waits_closes_the_source() -> None:
    closed = asyncio.Event()
    first_body = asyncio.Event()

    async def stalled() -> AsyncIterator[StreamEvent]:
        try:
            yield event(0)
            await asyncio.sleep(30)
            yield event(1)
        finally:
            closed.set()

    async def hang_up() -> Message:
        await first_body.wait()
        return {"type": "http.disconnect"}

    async def on_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            first_body.set()

    async def main() -> list[bytes]:
        sent = bodies(await serve(stalled(), hang_up, on_send=on_send))  # returns: the stall does not hold it
        assert closed.is_set()
        return sent

    assert asyncio.run(main()) == [wire(0)]


def test_a_client_hanging_up_while_a_write_is_blocked_closes_the_source() -> None:
    closed = asyncio.Event()
    blocked = asyncio.Event()

    async def endless() -> AsyncIterator[StreamEvent]:
        try:
            n = 0
            while True:
                yield event(n)
                n += 1
        finally:
            closed.set()

    async def hang_up() -> Message:
        await blocked.wait()
        return {"type": "http.disconnect"}

    async def on_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            blocked.set()
            await asyncio.sleep(30)  # a client that stopped reading: the socket's buffer is full

    async def main() -> None:
        await serve(endless(), hang_up, on_send=on_send)
        assert closed.is_set()

    asyncio.run(main())


def test_a_failing_source_ends_the_stream_after_its_whole_frames_and_raises() -> None:
    sent: list[Message] = []

    async def failing() -> AsyncIterator[StreamEvent]:
        yield event(0)
        await asyncio.sleep(0)
        raise RuntimeError("broken")

    async def record(message: Message) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError, match="broken"):
        asyncio.run(serve(failing(), on_send=record))
    assert bodies(sent) == [wire(0)]


def test_a_hang_up_as_the_stream_ends_does_not_cancel_what_the_request_does_next() -> None:
    ended = asyncio.Event()

    async def one() -> AsyncIterator[StreamEvent]:
        yield event(0)

    async def leaves() -> Message:
        await ended.wait()
        return {"type": "http.disconnect"}

    async def on_send(message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            ended.set()  # the client leaves the moment the last byte is out
            await asyncio.sleep(0)

    async def main() -> str:
        await serve(one(), leaves, on_send=on_send)
        await asyncio.sleep(0.05)  # the request's task goes on: a late hang-up must not cancel it here
        return "finished"

    assert asyncio.run(main()) == "finished"


def test_a_client_hanging_up_mid_stream_closes_the_upstream_connection(aws: None) -> None:
    # The whole app and the deployed provider against a raw upstream that sends one token and then waits:
    # when the client goes away the upstream must see its connection close, or it would go on generating.
    async def main() -> None:
        upstream_closed = asyncio.Event()

        async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
            await up.read_request(reader, n)
            writer.write(SSE_HEAD + chunk(frame(role="assistant", content="Hel")))
            await writer.drain()
            await reader.read()  # returns at EOF: the gateway closed the connection
            upstream_closed.set()

        async with Upstream(handler) as up:
            settings = make_settings(openai_base_url=up.base_url())
            app = create_app(build_services(settings, providers=ProviderRegistry(settings)))
            delta_sent = asyncio.Event()
            request = json.dumps({"model": "m", "input": "hi", "stream": True, "store": False}).encode()
            requested = False

            async def receive() -> Message:
                nonlocal requested
                if not requested:
                    requested = True
                    return {"type": "http.request", "body": request, "more_body": False}
                await delta_sent.wait()
                return {"type": "http.disconnect"}

            async def send(message: Message) -> None:
                if b"response.output_text.delta" in message.get("body", b""):
                    delta_sent.set()

            scope = {
                **HTTP_SCOPE,
                "path": "/v1/responses",
                "raw_path": b"/v1/responses",
                "query_string": b"",
                "headers": [(b"content-type", b"application/json")],
                "scheme": "http",
                "server": ("testserver", 80),
                "client": ("127.0.0.1", 1),
                "root_path": "",
                "http_version": "1.1",
            }
            await asyncio.wait_for(app(scope, receive, send), 5)
            assert delta_sent.is_set()
            assert await eventually(upstream_closed.is_set)
            await app.state.services.providers.aclose()

    asyncio.run(main())


def test_on_close_runs_even_when_the_source_never_started() -> None:
    # GIVEN a source that would only close what it owns from its own finally, and a client that is already gone
    started: list[bool] = []
    closed: list[str] = []

    async def source() -> AsyncIterator[StreamEvent]:
        started.append(True)
        await asyncio.sleep(30)
        yield event(0)

    async def gone() -> Message:
        return {"type": "http.disconnect"}

    async def close_upstream() -> None:
        closed.append("upstream")

    async def main() -> None:
        response = event_stream(source(), 10, on_close=close_upstream)
        await asyncio.wait_for(response(HTTP_SCOPE, gone, lambda message: asyncio.sleep(0)), 5)

    # WHEN the response is over
    asyncio.run(main())

    # THEN what the run opened is closed exactly once, whether or not the source ever ran
    assert closed == ["upstream"]
