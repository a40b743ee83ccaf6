"""``OpenAIChatProvider`` over TLS and through proxies: a private CA (``RESPONSES_UPSTREAM_CA_BUNDLE``,
``SSL_CERT_FILE``), an untrusted certificate, and ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``NO_PROXY``."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.domain.upstream import Finish, TextDelta
from gateway.errors import UpstreamError
from tests.unit.providers.loopback import (
    PROXY_VARIABLES,
    Upstream,
    call,
    chat_provider,
    chunked,
    header_map,
    replying,
    stream_of,
)

HELLO = [TextDelta("Hel"), TextDelta("lo"), Finish("stop")]


@dataclass(frozen=True)
class Certificate:
    server: ssl.SSLContext
    """Serves a certificate for localhost and 127.0.0.1, signed by a CA of its own (in no trust store)."""
    ca_file: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    now = datetime.datetime.now(datetime.UTC)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gateway test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory: Path = tmp_path_factory.mktemp("tls")
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (directory / "key.pem").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "leaf.pem", directory / "key.pem")
    return Certificate(server, directory / "ca.pem")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def hello_twice() -> list[bytes]:
    return [chunked(*stream_of("Hel", "lo")), chunked(*stream_of("Hel", "lo"))]


def test_a_private_ca_from_the_ca_bundle_setting_is_trusted_and_the_connection_kept(certificate: Certificate) -> None:
    async def main() -> None:
        async with Upstream(replying(*hello_twice()), tls=certificate.server) as up:
            url = up.base_url("https", "localhost")
            async with chat_provider(url, upstream_ca_bundle=certificate.ca_file) as provider:
                assert await call(provider) == HELLO
                assert await call(provider) == HELLO
            assert up.accepts == 1
            assert header_map(up.requests[0][1])[b"host"] == b"localhost:%d" % up.port

    asyncio.run(main())


def test_ssl_cert_file_from_the_environment_is_trusted(
    certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.ca_file))

    async def main() -> None:
        upstream = Upstream(replying(*hello_twice()), tls=certificate.server)
        async with upstream as up, chat_provider(up.base_url("https", "localhost")) as provider:
            assert await call(provider) == HELLO

    asyncio.run(main())


def test_a_certificate_from_no_trusted_ca_is_refused(certificate: Certificate) -> None:
    async def main() -> None:
        async with Upstream(replying(*hello_twice()), tls=certificate.server) as up:
            async with chat_provider(up.base_url("https", "localhost")) as provider:
                with pytest.raises(UpstreamError, match="could not be reached") as raised:
                    await call(provider)
            assert "CERTIFICATE_VERIFY_FAILED" in repr(raised.value.__cause__)
            assert up.requests == []

    asyncio.run(main())


def test_http_proxy_from_the_environment_carries_plain_http_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        async with Upstream(replying(*hello_twice())) as proxy:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
            async with chat_provider("http://upstream.invalid:8000/v1") as provider:
                assert await call(provider) == HELLO
            [(_, head, _)] = proxy.requests
            assert head.startswith(b"POST http://upstream.invalid:8000/v1/chat/completions HTTP/1.1\r\n")

    asyncio.run(main())


def test_no_proxy_lets_a_host_bypass_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        async with Upstream(replying()) as proxy, Upstream(replying(*hello_twice())) as upstream:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            async with chat_provider(upstream.base_url()) as provider:
                assert await call(provider) == HELLO
            assert (proxy.accepts, len(upstream.requests)) == (0, 1)

    asyncio.run(main())


def test_https_proxy_from_the_environment_tunnels_to_the_upstream(
    certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    tunnels: list[bytes] = []

    async def main() -> None:
        async with Upstream(replying(*hello_twice()), tls=certificate.server) as upstream:

            async def connect(up: Upstream, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
                request = await reader.readuntil(b"\r\n\r\n")
                tunnels.append(request.split(b"\r\n")[0])
                far_reader, far_writer = await asyncio.open_connection("127.0.0.1", upstream.port)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

                async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
                    while data := await source.read(65536):
                        sink.write(data)
                        await sink.drain()
                    sink.close()

                await asyncio.gather(pipe(reader, far_writer), pipe(far_reader, writer))

            async with Upstream(connect) as proxy:
                monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
                url = upstream.base_url("https", "localhost")
                async with chat_provider(url, upstream_ca_bundle=certificate.ca_file) as provider:
                    assert await call(provider) == HELLO
        assert tunnels == [b"CONNECT localhost:%d HTTP/1.1" % upstream.port]
        assert len(upstream.requests) == 1

    asyncio.run(main())
