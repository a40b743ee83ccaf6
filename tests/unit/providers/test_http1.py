"""``Http1Transport`` on the wire: a raw loopback server scripts every byte the upstream sends.

Covered: chunked and content-length responses (and bodies delimited by the server closing), the exact request
bytes, keep-alive reuse and when a connection must not be reused (``connection: close``, a body closed early,
a connection the server dropped while idle), the pool's LIFO order, ``max_idle`` and ``keepalive_expiry``,
errors (server gone mid-body, read timeout, connection refused, malformed response), a 2 MB body through the
pause/resume backpressure, HTTPS with a certificate made here, and ``aclose()`` closing idle connections.
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import re
import socket
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.providers.http1 import _HIGH_WATER, Http1Transport, _Body

Handler = Callable[["Upstream", asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


class Upstream:
    """A raw HTTP/1.1 server on 127.0.0.1: ``handler`` runs for each accepted connection (numbered from 1).

    ``requests`` records (connection number, head, body) of every request a handler read; ``eofs`` counts
    connections the client closed while the handler waited for a request.
    """

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

    def url(self, path: str = "/v1/chat/completions", scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

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
    return b"%x\r\n%s\r\n" % (len(data), data)


def chunked(*parts: bytes) -> bytes:
    return SSE_HEAD + b"".join(chunk(part) for part in parts) + b"0\r\n\r\n"


def sized(body: bytes, extra: bytes = b"", status: bytes = b"200 OK") -> bytes:
    head = b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n" % (status, len(body), extra)
    return head + body


def post(url: str, body: bytes = b'{"model":"m"}', *, read: float = 5.0) -> httpx.Request:
    timeout = {"connect": 5.0, "read": read, "write": 5.0, "pool": 5.0}
    headers = {"content-type": "application/json", "x-trace": "abc"}
    return httpx.Request("POST", url, content=body, headers=headers, extensions={"timeout": timeout})


async def fetch(transport: Http1Transport, url: str, body: bytes = b"{}") -> tuple[httpx.Response, list[bytes]]:
    """One request read to its end and closed: the raw body chunks as they arrived."""
    response = await transport.handle_async_request(post(url, body))
    try:
        return response, [part async for part in response.aiter_raw()]
    finally:
        await response.aclose()


async def eventually(condition: Callable[[], bool]) -> bool:
    for _ in range(100):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


def header_map(head: bytes) -> dict[bytes, bytes]:
    lines = head.split(b"\r\n")[1:]
    return {name.strip().lower(): value.strip() for name, _, value in (line.partition(b":") for line in lines if line)}


def test_a_chunked_stream_arrives_chunk_by_chunk_and_the_request_goes_out_verbatim() -> None:
    body = '{"input":"héllo","stream":true}'.encode()

    async def main() -> None:
        first_seen = asyncio.Event()
        streamed: list[bool] = []

        async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
            await up.read_request(reader, n)
            writer.write(SSE_HEAD.replace(b"\r\n\r\n", b"\r\nx-dup: a\r\nx-dup: b\r\n\r\n") + chunk(b"data: 1\n\n"))
            try:  # the second chunk is sent only once the client holds the first: proof it streams
                await asyncio.wait_for(first_seen.wait(), 2)
                streamed.append(True)
            except TimeoutError:
                streamed.append(False)
            writer.write(chunk(b"data: 2\n\n") + chunk(b"data: 3\n\n") + b"0\r\n\r\n")
            await reader.read()

        async with Upstream(handler) as up:
            transport = Http1Transport()
            response = await transport.handle_async_request(post(up.url("/v1/chat/completions?stream=1&x=y"), body))
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            assert response.headers.get_list("x-dup") == ["a", "b"]
            assert response.extensions["http_version"] == b"HTTP/1.1"
            chunks = []
            async for part in response.aiter_raw():
                chunks.append(part)
                first_seen.set()
            await response.aclose()
            await transport.aclose()

            assert chunks == [b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"]
            assert streamed == [True]
            [(_, head, received)] = up.requests
            assert head.startswith(b"POST /v1/chat/completions?stream=1&x=y HTTP/1.1\r\n")
            headers = header_map(head)
            assert headers[b"host"] == b"127.0.0.1:%d" % up.port
            assert headers[b"content-length"] == b"%d" % len(body)
            assert headers[b"x-trace"] == b"abc"
            assert received == body

    asyncio.run(main())


def test_a_content_length_response() -> None:
    async def main() -> None:
        async with Upstream(replying(sized(b'{"id":"x"}', status=b"201 Created"))) as up:
            transport = Http1Transport()
            response, chunks = await fetch(transport, up.url())
            await transport.aclose()
        assert response.status_code == 201
        assert response.headers["content-length"] == "10"
        assert b"".join(chunks) == b'{"id":"x"}'

    asyncio.run(main())


def test_a_gzip_body_is_decompressed_by_httpx() -> None:
    async def main() -> None:
        reply = sized(gzip.compress(b"hello " * 100), b"content-encoding: gzip\r\n")
        async with Upstream(replying(reply)) as up:
            transport = Http1Transport()
            response = await transport.handle_async_request(post(up.url()))
            decoded = b"".join([part async for part in response.aiter_bytes()])
            await response.aclose()
            await transport.aclose()
        assert decoded == b"hello " * 100

    asyncio.run(main())


def test_a_body_delimited_by_the_server_closing_is_complete_not_an_error() -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nhello ")
        await writer.drain()
        writer.write(b"world")

    async def main() -> None:
        async with Upstream(handler) as up:
            transport = Http1Transport()
            _, chunks = await fetch(transport, up.url())
            _, again = await fetch(transport, up.url())
            await transport.aclose()
            assert up.accepts == 2  # no framing, no keep-alive
        assert b"".join(chunks) == b"".join(again) == b"hello world"

    asyncio.run(main())


def test_keep_alive_reuses_one_connection() -> None:
    async def main() -> None:
        async with Upstream(replying(chunked(b"one"), sized(b"two"))) as up:
            transport = Http1Transport()
            _, first = await fetch(transport, up.url(), b"1")
            _, second = await fetch(transport, up.url(), b"2")
            await transport.aclose()
            assert (first, second) == ([b"one"], [b"two"])
            assert up.accepts == 1
            assert [(n, body) for n, _, body in up.requests] == [(1, b"1"), (1, b"2")]

    asyncio.run(main())


def test_a_connection_close_response_is_not_reused() -> None:
    async def main() -> None:
        async with Upstream(replying(sized(b"one", b"connection: close\r\n"), sized(b"two"))) as up:
            transport = Http1Transport()
            await fetch(transport, up.url())
            _, second = await fetch(transport, up.url())
            await transport.aclose()
            assert second == [b"two"]
            assert up.accepts == 2  # the server left the first connection open: the client chose not to reuse it
            assert await eventually(lambda: up.eofs == 2)

    asyncio.run(main())


def test_a_body_closed_before_its_end_does_not_go_back_to_the_pool() -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        if n == 1:
            writer.write(SSE_HEAD + chunk(b"first"))  # and the rest never comes
        else:
            writer.write(sized(b"fresh"))
        assert await up.read_request(reader, n) is None

    async def main() -> None:
        async with Upstream(handler) as up:
            transport = Http1Transport()
            response = await transport.handle_async_request(post(up.url()))
            async for part in response.aiter_raw():
                assert part == b"first"
                break
            await response.aclose()
            _, chunks = await fetch(transport, up.url())
            assert chunks == [b"fresh"]
            assert up.accepts == 2
            assert await eventually(lambda: up.eofs == 1)  # the abandoned connection was closed, not leaked
            await transport.aclose()

    asyncio.run(main())


def test_a_response_received_whole_but_closed_unread_leaves_no_paused_connection_in_the_pool() -> None:
    parts = [bytes([65 + i % 26]) * 16384 for i in range(25)]  # 400 KB: past the high-water mark

    async def main() -> None:
        async with Upstream(replying(chunked(*parts), sized(b"next"))) as up:
            transport = Http1Transport()
            response = await transport.handle_async_request(post(up.url()))
            await asyncio.sleep(0.1)  # all of it arrives; reading pauses with >256 KB buffered
            async for part in response.aiter_raw():
                assert part == parts[0]
                break
            await response.aclose()
            next_response = await transport.handle_async_request(post(up.url(), read=1.0))
            assert [part async for part in next_response.aiter_raw()] == [b"next"]
            await next_response.aclose()
            await transport.aclose()
            assert up.accepts == 2

    asyncio.run(main())


def test_a_pooled_connection_the_server_closed_while_idle_is_replaced() -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while await up.read_request(reader, n) is not None:
            writer.write(sized(b"reply %d" % len(up.requests)))
            await writer.drain()
            if n == 1:
                return  # keep-alive by its headers, closed all the same

    async def main() -> None:
        async with Upstream(handler) as up:
            transport = Http1Transport()
            _, first = await fetch(transport, up.url())
            await asyncio.sleep(0.05)
            _, second = await fetch(transport, up.url())
            await transport.aclose()
            assert (first, second) == ([b"reply 1"], [b"reply 2"])
            assert up.accepts == 2

    asyncio.run(main())


def test_a_pooled_connection_closed_as_the_next_request_arrives_is_retried_on_a_new_one() -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while await up.read_request(reader, n) is not None:
            if n == 1 and len(up.requests) == 2:
                return  # the request crossed the server's close: not a byte of response
            writer.write(sized(b"reply %d" % len(up.requests)))
            await writer.drain()

    async def main() -> None:
        async with Upstream(handler) as up:
            transport = Http1Transport()
            await fetch(transport, up.url(), b"a")
            _, second = await fetch(transport, up.url(), b"b")
            await transport.aclose()
            assert second == [b"reply 3"]
            assert [(n, body) for n, _, body in up.requests] == [(1, b"a"), (1, b"b"), (2, b"b")]

    asyncio.run(main())


def test_a_new_connection_closed_before_any_response_is_an_error_not_a_retry() -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)

    async def main() -> None:
        async with Upstream(handler) as up:
            transport = Http1Transport()
            with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                await transport.handle_async_request(post(up.url()))
            assert up.accepts == 1

    asyncio.run(main())


@pytest.mark.parametrize(
    "sent",
    [SSE_HEAD + chunk(b"data: 1\n\n"), sized(b"0123456789" * 10)[:-90]],
    ids=["chunked", "content-length"],
)
def test_the_server_closing_mid_body_raises_while_iterating(sent: bytes) -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        writer.write(sent)

    async def main() -> None:
        async with Upstream(handler) as up:
            transport = Http1Transport()
            response = await transport.handle_async_request(post(up.url()))
            received = []
            with pytest.raises(httpx.RemoteProtocolError, match="mid-response"):
                async for part in response.aiter_raw():
                    received.append(part)
            await response.aclose()
            await transport.aclose()
        assert b"".join(received) in (b"data: 1\n\n", b"0123456789")

    asyncio.run(main())


@pytest.mark.parametrize("sent", [b"", SSE_HEAD + chunk(b"data: 1\n\n")], ids=["before-headers", "mid-body"])
def test_silence_past_the_read_timeout_raises_read_timeout_and_drops_the_connection(sent: bytes) -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        writer.write(sent)
        assert await up.read_request(reader, n) is None

    async def main() -> None:
        async with Upstream(handler) as up:
            transport = Http1Transport()
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                response = await transport.handle_async_request(post(up.url(), read=0.2))
                async for _ in response.aiter_raw():
                    pass
            assert 0.2 <= time.monotonic() - started < 1.0
            assert await eventually(lambda: up.eofs == 1)
            await transport.aclose()

    asyncio.run(main())


def test_the_read_timeout_bounds_each_silence_not_the_whole_stream() -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await up.read_request(reader, n)
        writer.write(SSE_HEAD)
        for index in range(6):  # 6 gaps of 0.1 s: 0.6 s in all, three times the 0.2 s read timeout
            await asyncio.sleep(0.1)
            writer.write(chunk(b"data: %d\n\n" % index))
        writer.write(b"0\r\n\r\n")
        await up.read_request(reader, n)

    async def main() -> list[bytes]:
        async with Upstream(handler) as up:
            transport = Http1Transport()
            response = await transport.handle_async_request(post(up.url(), read=0.2))
            body = [part async for part in response.aiter_raw()]
            await response.aclose()
            await transport.aclose()
            return body

    assert b"".join(asyncio.run(main())) == b"".join(b"data: %d\n\n" % index for index in range(6))


def test_connection_refused_raises_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> None:
        with pytest.raises(httpx.ConnectError):
            await Http1Transport().handle_async_request(post(f"http://127.0.0.1:{port}/v1"))

    asyncio.run(main())


def test_a_malformed_response_raises_remote_protocol_error() -> None:
    async def main() -> None:
        async with Upstream(replying(b"NOT HTTP\r\n\r\n")) as up:
            with pytest.raises(httpx.RemoteProtocolError, match="Malformed"):
                await Http1Transport().handle_async_request(post(up.url()))

    asyncio.run(main())


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_large_body_pauses_reading_at_the_high_water_mark_and_arrives_whole(framing: str) -> None:
    payload = bytes(range(256)) * 8192  # 2 MB
    reply = (
        sized(payload)
        if framing == "content-length"
        else chunked(*(payload[i : i + 65536] for i in range(0, len(payload), 65536)))
    )
    request_body = b"q" * 100_000  # past the size the head and body go out in one write

    async def main() -> None:
        async with Upstream(replying(reply, sized(b"after"))) as up:
            transport = Http1Transport()
            response = await transport.handle_async_request(post(up.url(), request_body))
            await asyncio.sleep(0.2)  # the server wrote all 2 MB; the client must not have buffered it all
            stream = response.stream
            assert isinstance(stream, _Body)
            connection = stream._connection
            assert connection._paused
            assert _HIGH_WATER < connection._buffered <= 2 * _HIGH_WATER
            received = b"".join([part async for part in response.aiter_raw()])
            await response.aclose()
            assert received == payload
            _, after = await fetch(transport, up.url())  # resumed, complete, back in the pool
            await transport.aclose()
            assert after == [b"after"]
            assert up.accepts == 1
            assert up.requests[0][2] == request_body

    asyncio.run(main())


def test_the_pool_hands_out_the_most_recently_used_connection_first() -> None:
    async def handler(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while await up.read_request(reader, n) is not None:
            writer.write(sized(b"connection %d" % n))
            await writer.drain()

    async def main() -> None:
        async with Upstream(handler) as up:
            transport = Http1Transport()
            responses = await asyncio.gather(*(transport.handle_async_request(post(up.url())) for _ in range(2)))
            bodies = {}
            for response in responses:  # read without closing: aread() would release each as it ends
                assert isinstance(response.stream, httpx.AsyncByteStream)
                bodies[b"".join([part async for part in response.stream])] = response
            await bodies[b"connection 2"].aclose()
            await bodies[b"connection 1"].aclose()
            _, chunks = await fetch(transport, up.url())
            await transport.aclose()
            assert up.accepts == 2
            assert chunks == [b"connection 1"]

    asyncio.run(main())


def test_max_idle_caps_the_pool_and_closes_the_surplus() -> None:
    async def main() -> None:
        async with Upstream(replying(*[sized(b"ok")] * 3)) as up:
            transport = Http1Transport(max_idle=1)
            responses = await asyncio.gather(*(transport.handle_async_request(post(up.url())) for _ in range(2)))
            for response in responses:
                await response.aread()
                await response.aclose()
            assert await eventually(lambda: up.eofs == 1)
            await fetch(transport, up.url())
            assert up.accepts == 2
            await transport.aclose()

    asyncio.run(main())


def test_a_connection_idle_past_keepalive_expiry_is_closed_not_reused() -> None:
    async def main() -> None:
        async with Upstream(replying(sized(b"one"), sized(b"two"))) as up:
            transport = Http1Transport(keepalive_expiry=0.05)
            await fetch(transport, up.url())
            await asyncio.sleep(0.1)
            _, second = await fetch(transport, up.url())
            assert second == [b"two"]
            assert up.accepts == 2
            assert await eventually(lambda: up.eofs == 1)
            await transport.aclose()

    asyncio.run(main())


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for localhost and 127.0.0.1: (server context, client context trusting it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    directory: Path = tmp_path_factory.mktemp("tls")
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (directory / "cert.pem").write_bytes(cert_pem)
    (directory / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return server, ssl.create_default_context(cadata=cert_pem.decode())


def test_https_verifies_the_certificate_and_keeps_the_connection_alive(
    tls: tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_context, client_context = tls

    async def main() -> None:
        async with Upstream(replying(chunked(b"secure", b" stream"), sized(b"again")), tls=server_context) as up:
            transport = Http1Transport(ssl_context=client_context)
            _, first = await fetch(transport, up.url(scheme="https", host="localhost"), b"hi")
            _, second = await fetch(transport, up.url(scheme="https", host="localhost"))
            await transport.aclose()
            assert (first, second) == ([b"secure", b" stream"], [b"again"])
            assert up.accepts == 1
            assert up.requests[0][2] == b"hi"
            assert header_map(up.requests[0][1])[b"host"] == b"localhost:%d" % up.port

    asyncio.run(main())


def test_https_rejects_a_certificate_it_does_not_trust(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    async def main() -> None:
        async with Upstream(replying(), tls=tls[0]) as up:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await Http1Transport().handle_async_request(post(up.url(scheme="https", host="localhost")))

    asyncio.run(main())


def test_aclose_closes_idle_pooled_connections() -> None:
    async def main() -> None:
        async with Upstream(replying(sized(b"ok"), sized(b"ok"))) as up:
            transport = Http1Transport()
            await asyncio.gather(fetch(transport, up.url()), fetch(transport, up.url()))
            await asyncio.sleep(0.05)
            assert (up.accepts, up.eofs) == (2, 0)  # both idle in the pool, still open
            await transport.aclose()
            assert await eventually(lambda: up.eofs == 2)

    asyncio.run(main())
