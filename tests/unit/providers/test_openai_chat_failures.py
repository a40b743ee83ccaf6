"""``OpenAIChatProvider`` against a raw loopback upstream that fails: silence (the idle and total timeouts),
cancellation, a connection dropped or refused, a malformed reply, refused credentials."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from gateway.domain.upstream import Finish, TextDelta
from gateway.errors import InvalidRequestError, UpstreamError
from tests.fakes.opened import enter
from tests.unit.providers.loopback import (
    PROXY_VARIABLES,
    SSE_HEAD,
    Upstream,
    call,
    chat_provider,
    chunk,
    eventually,
    frame,
    model_request,
    replying,
    sized,
    stream_of,
)


@pytest.fixture(autouse=True)
def no_proxy_or_trust_store_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.parametrize("sent", [b"", SSE_HEAD + chunk(frame(content="Hel"))], ids=["before-headers", "mid-body"])
def test_silence_past_the_idle_timeout_fails_the_call_and_drops_the_connection(sent: bytes) -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        writer.write(sent)
        assert await up.read_request(reader, n) is None

    async def main() -> None:
        async with Upstream(handler) as up, chat_provider(up.base_url(), upstream_idle_timeout=0.2) as provider:
            started = time.monotonic()
            with pytest.raises(UpstreamError, match=r"timed out|idle timeout"):
                await call(provider)
            assert 0.2 <= time.monotonic() - started < 1.0
            assert await eventually(lambda: up.eofs == 1)

    asyncio.run(main())


def test_the_idle_timeout_bounds_each_silence_and_the_read_timeout_the_whole_call() -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        writer.write(SSE_HEAD)
        for _ in range(40):  # a delta every 0.05 s for 2 s: never idle for 0.2 s
            writer.write(chunk(frame(content=".")))
            await asyncio.sleep(0.05)
        writer.write(b"".join(chunk(event) for event in stream_of()) + b"0\r\n\r\n")
        await up.read_request(reader, n)

    async def main() -> None:
        async with Upstream(handler) as up:
            async with chat_provider(up.base_url(), upstream_idle_timeout=0.2, upstream_read_timeout=5) as provider:
                events = await call(provider)
            assert events[-1] == Finish("stop") and len(events) == 41
            async with chat_provider(up.base_url(), upstream_idle_timeout=0.2, upstream_read_timeout=0.5) as provider:
                started = time.monotonic()
                with pytest.raises(UpstreamError, match="RESPONSES_UPSTREAM_READ_TIMEOUT"):
                    await call(provider)
                assert 0.5 <= time.monotonic() - started < 1.0

    asyncio.run(main())


def test_cancelling_a_call_before_the_headers_closes_its_connection() -> None:
    # A background response cancelled while the upstream thinks: the upstream must see the caller go away.
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        assert await up.read_request(reader, n) is None

    async def main() -> None:
        async with Upstream(handler) as up, chat_provider(up.base_url()) as provider:
            task = asyncio.create_task(enter(provider.open(model_request())))
            assert await eventually(lambda: len(up.requests) == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await eventually(lambda: up.eofs == 1)

    asyncio.run(main())


@pytest.mark.parametrize(
    "sent",
    [SSE_HEAD + chunk(frame(content="Hel")), sized(b"".join(stream_of("Hel", "lo")))[:-30]],
    ids=["chunked", "content-length"],
)
def test_the_server_closing_mid_body_fails_the_stream(sent: bytes) -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        writer.write(sent)

    async def main() -> None:
        async with Upstream(handler) as up, chat_provider(up.base_url()) as provider:
            stream = await enter(provider.open(model_request()))
            received = []
            with pytest.raises(UpstreamError, match=r"broke off|without finishing"):
                async for event in stream.events:
                    received.append(event)
            assert received[0] == TextDelta("Hel")

    asyncio.run(main())


def test_connection_refused_and_a_malformed_reply_are_upstream_errors() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> None:
        async with chat_provider(f"http://127.0.0.1:{port}/v1") as provider:
            with pytest.raises(UpstreamError, match="could not be reached"):
                await call(provider)
        async with Upstream(replying(b"NOT HTTP\r\n\r\n")) as up, chat_provider(up.base_url()) as provider:
            with pytest.raises(UpstreamError, match="could not be reached"):
                await call(provider)

    asyncio.run(main())


@pytest.mark.parametrize("status", [b"401 Unauthorized", b"403 Forbidden"])
def test_refused_credentials_are_a_502_naming_the_setting_not_the_upstream_message(
    status: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    detail = b'{"error": {"message": "Incorrect API key provided: sk-te****st.", "code": "invalid_api_key"}}'

    async def main() -> None:
        reply = sized(detail, status=status, kind=b"application/json")
        async with Upstream(replying(reply)) as up, chat_provider(up.base_url()) as provider:
            with pytest.raises(UpstreamError) as raised:
                await call(provider)
        error = raised.value
        assert (error.status_code, error.code) == (502, "server_error")
        assert "OPENAI_API_KEY" in error.message and "refused the gateway's credentials" in error.message
        assert "sk-te" not in error.message and "Incorrect API key" not in error.message

    with caplog.at_level(logging.WARNING, logger="gateway"):
        asyncio.run(main())
    assert "Incorrect API key provided" in caplog.text  # the operator sees the upstream's own words


def test_an_endless_error_body_is_read_only_as_far_as_its_start() -> None:
    written: list[int] = []
    cut_off = asyncio.Event()

    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n")
        try:
            for count in range(2000):  # 128 MB if nobody stops reading
                writer.write(chunk(b"no " * 21845))
                await writer.drain()
                written.append(count)
        except ConnectionError:
            cut_off.set()

    async def main() -> None:
        async with Upstream(handler) as up, chat_provider(up.base_url()) as provider:
            with pytest.raises(InvalidRequestError, match=r"^no no no"):
                await call(provider)
            await asyncio.wait_for(cut_off.wait(), 5)
        assert len(written) < 100  # the client read about 64 KB, then closed the connection

    asyncio.run(main())
