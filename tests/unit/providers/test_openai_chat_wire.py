"""``OpenAIChatProvider`` against a raw loopback upstream: framing, keep-alive and pooling, 1xx responses."""

from __future__ import annotations

import asyncio

import pytest

from gateway.domain.upstream import Finish, TextDelta
from gateway.errors import UpstreamError
from tests.fakes.opened import enter
from tests.unit.providers.loopback import (
    PROXY_VARIABLES,
    SSE_HEAD,
    Upstream,
    call,
    chat_provider,
    chunk,
    chunked,
    eventually,
    frame,
    header_map,
    model_request,
    replying,
    sized,
    stream_of,
)

HELLO = [TextDelta("Hel"), TextDelta("lo"), Finish("stop")]


@pytest.fixture(autouse=True)
def no_proxy_or_trust_store_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_a_chunked_stream_arrives_event_by_event_and_the_request_goes_out_as_json() -> None:
    async def main() -> None:
        first_seen = asyncio.Event()
        streamed: list[bool] = []

        async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
            await up.read_request(reader, n)
            writer.write(SSE_HEAD + chunk(frame(content="Hel")))
            try:  # the rest is sent only once the provider has yielded the first delta: proof it streams
                await asyncio.wait_for(first_seen.wait(), 2)
                streamed.append(True)
            except TimeoutError:
                streamed.append(False)
            writer.write(b"".join(chunk(event) for event in stream_of("lo")) + b"0\r\n\r\n")
            await reader.read()

        async with Upstream(handler) as up, chat_provider(up.base_url()) as provider:
            stream = await enter(provider.open(model_request("héllo")))
            events = []
            async for event in stream.events:
                events.append(event)
                first_seen.set()
        assert events == HELLO
        assert streamed == [True]
        [(_, head, body)] = up.requests
        assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
        headers = header_map(head)
        assert headers[b"host"] == b"127.0.0.1:%d" % up.port
        assert headers[b"authorization"] == b"Bearer sk-test"
        assert headers[b"content-length"] == b"%d" % len(body)
        assert headers[b"accept"] == b"text/event-stream"
        assert '"content":"héllo"'.encode() in body

    asyncio.run(main())


@pytest.mark.parametrize("framing", ["content-length", "until-close"])
def test_a_body_not_chunked_is_read_whole(framing: str) -> None:
    body = b"".join(stream_of("Hel", "lo"))

    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while await up.read_request(reader, n) is not None:
            if framing == "content-length":
                writer.write(sized(body))
            else:
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n" + body)
                return  # the body ends with the connection

    async def main() -> None:
        async with Upstream(handler) as up, chat_provider(up.base_url()) as provider:
            assert await call(provider) == HELLO
            assert await call(provider) == HELLO
            assert up.accepts == (1 if framing == "content-length" else 2)

    asyncio.run(main())


def test_keep_alive_reuses_one_connection_across_calls() -> None:
    async def main() -> None:
        replies = [chunked(*stream_of("Hel", "lo")), sized(b"".join(stream_of("Hel", "lo")))]
        async with Upstream(replying(*replies)) as up, chat_provider(up.base_url()) as provider:
            assert await call(provider, "one") == HELLO
            assert await call(provider, "two") == HELLO
            assert up.accepts == 1
            assert [n for n, _, _ in up.requests] == [1, 1]

    asyncio.run(main())


def test_a_connection_close_reply_is_not_reused() -> None:
    close_head = SSE_HEAD.replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n")
    replies = [chunked(*stream_of("Hel", "lo"), head=close_head), chunked(*stream_of("Hel", "lo"))]

    async def main() -> None:
        async with Upstream(replying(*replies)) as up, chat_provider(up.base_url()) as provider:
            assert await call(provider) == HELLO
            assert await call(provider) == HELLO
            assert up.accepts == 2  # the server left the first one open: the client chose not to reuse it

    asyncio.run(main())


def test_a_stream_closed_before_its_end_closes_its_connection() -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        if n == 1:
            writer.write(SSE_HEAD + chunk(frame(content="Hel")))  # and the rest never comes
        else:
            writer.write(chunked(*stream_of("Hel", "lo")))
        assert await up.read_request(reader, n) is None

    async def main() -> None:
        async with Upstream(handler) as up, chat_provider(up.base_url()) as provider:
            stream = await enter(provider.open(model_request()))
            assert await anext(stream.events) == TextDelta("Hel")
            await stream.aclose()
            assert await eventually(lambda: up.eofs == 1)  # closed, not leaked nor pooled
            assert await call(provider) == HELLO
            assert up.accepts == 2

    asyncio.run(main())


def test_a_stream_closed_before_it_was_read_closes_its_connection() -> None:
    # The engine may give up between open() and the first event (the caller went away): the upstream must
    # see the connection close, not keep generating.
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        writer.write(SSE_HEAD + chunk(frame(content="Hel")))
        assert await up.read_request(reader, n) is None

    async def main() -> None:
        async with Upstream(handler) as up, chat_provider(up.base_url()) as provider:
            stream = await enter(provider.open(model_request()))
            await stream.aclose()
            assert await eventually(lambda: up.eofs == 1)

    asyncio.run(main())


def test_a_pooled_connection_the_server_closed_while_idle_is_replaced() -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        writer.write(chunked(*stream_of("Hel", "lo")))
        await writer.drain()
        # keep-alive by its headers, closed all the same once the reply is out

    async def main() -> None:
        async with Upstream(handler) as up, chat_provider(up.base_url()) as provider:
            assert await call(provider) == HELLO
            await asyncio.sleep(0.05)
            assert await call(provider) == HELLO
            assert up.accepts == 2

    asyncio.run(main())


def test_a_post_the_server_dropped_without_a_reply_is_not_sent_again() -> None:
    # A pooled connection closed as the request crossed it may have started the generation: re-sending a POST
    # could run the model twice, so the call fails instead.
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while await up.read_request(reader, n) is not None:
            if len(up.requests) == 2:
                return
            writer.write(chunked(*stream_of("Hel", "lo")))
            await writer.drain()

    async def main() -> None:
        async with Upstream(handler) as up, chat_provider(up.base_url()) as provider:
            assert await call(provider, "a") == HELLO
            with pytest.raises(UpstreamError, match="could not be reached"):
                await call(provider, "b")
            await asyncio.sleep(0.1)
            assert [n for n, _, _ in up.requests] == [1, 1]

    asyncio.run(main())


def test_103_early_hints_are_skipped_and_the_connection_stays_usable() -> None:
    hints = b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n"

    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while await up.read_request(reader, n) is not None:
            writer.write(hints)
            await writer.drain()
            await asyncio.sleep(0.05)  # the final response in a later read, as from a real upstream
            writer.write(chunked(*stream_of("Hel", "lo")))
            await writer.drain()

    async def main() -> None:
        async with Upstream(handler) as up, chat_provider(up.base_url()) as provider:
            assert await call(provider) == HELLO
            assert await call(provider) == HELLO
            assert up.accepts == 1

    asyncio.run(main())
