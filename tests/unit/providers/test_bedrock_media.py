"""Image URLs: fetched through an ``httpx.MockTransport`` and a fake resolver; private addresses are refused."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest

from gateway.domain.upstream import ModelRequest
from gateway.errors import InvalidRequestError
from tests.fakes.bedrock import converse, make_request

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
PUBLIC_IP = "93.184.216.34"
DNS = {
    "images.example.com": [PUBLIC_IP],
    "cdn.example.com": ["151.101.1.1"],
    "sneaky.example.com": [PUBLIC_IP, "10.0.0.7"],
    "internal.example.com": ["192.168.1.20"],
}


async def fake_dns(host: str, port: int) -> list[str]:
    return DNS.get(host, [host])


def image_request(url: str) -> ModelRequest:
    return make_request(
        input=[
            {
                "role": "user",
                "content": [{"type": "input_text", "text": "What is it?"}, {"type": "input_image", "image_url": url}],
            }
        ]
    )


class Recorder:
    """A MockTransport handler that records requests and answers from a table of URL → response."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.routes.get(str(request.url), httpx.Response(404))

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


async def fetch_error(url: str, **settings: object) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        await converse(image_request(url), **settings)
    return caught.value


async def test_an_https_image_url_is_fetched_from_the_checked_address_and_sent_as_bytes() -> None:
    # GIVEN an image URL on a public host
    web = Recorder({f"https://{PUBLIC_IP}/cat.png?size=2": httpx.Response(200, content=PNG)})

    # WHEN it is sent
    body, _ = await converse(
        image_request("https://images.example.com/cat.png?size=2"), fetch_transport=web.transport, resolver=fake_dns
    )

    # THEN the gateway connected to the address it checked, keeping the name for Host and TLS SNI
    [fetched] = web.requests
    assert fetched.headers["host"] == "images.example.com"
    assert fetched.extensions["sni_hostname"] == "images.example.com"
    # AND Bedrock got the bytes
    assert body["messages"][0]["content"][1] == {
        "image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}
    }


async def test_redirects_are_followed_and_each_hop_is_checked() -> None:
    web = Recorder(
        {
            f"http://{PUBLIC_IP}/a.png": httpx.Response(302, headers={"location": "http://cdn.example.com/b.png"}),
            "http://151.101.1.1/b.png": httpx.Response(200, content=PNG, headers={"content-type": "image/png"}),
        }
    )

    body, _ = await converse(
        image_request("http://images.example.com/a.png"), fetch_transport=web.transport, resolver=fake_dns
    )

    assert [request.headers["host"] for request in web.requests] == ["images.example.com", "cdn.example.com"]
    assert body["messages"][0]["content"][1]["image"]["format"] == "png"


async def test_fetching_disabled_is_a_clear_400() -> None:
    error = await fetch_error("https://images.example.com/cat.png", fetch_image_urls=False)

    assert (error.status_code, error.param, error.code) == (400, "input", "invalid_image_url")
    assert "data URL" in error.message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/cat.png",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://10.1.2.3/cat.png",
        "http://[::1]/cat.png",
        "http://[::ffff:169.254.169.254]/cat.png",
        "http://0.0.0.0/cat.png",
        "http://100.64.0.1/cat.png",
        "http://[2002:a00:1::]/cat.png",  # 6to4 around 10.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/cat.png",  # NAT64 around 169.254.169.254
    ],
)
async def test_loopback_link_local_and_private_addresses_are_refused(url: str) -> None:
    # GIVEN the system resolver (IP literals need no DNS) and a transport that must never be used
    web = Recorder({})

    # WHEN such a URL is sent
    error = await fetch_error(url, fetch_transport=web.transport)

    # THEN it is refused before any connection
    assert "not a public address" in error.message
    assert web.requests == []


@pytest.mark.parametrize("host", ["sneaky.example.com", "internal.example.com"])
async def test_a_name_resolving_to_any_private_address_is_refused(host: str) -> None:
    web = Recorder({})

    error = await fetch_error(f"https://{host}/cat.png", fetch_transport=web.transport, resolver=fake_dns)

    assert host in error.message
    assert web.requests == []


async def test_a_redirect_to_the_metadata_service_is_refused() -> None:
    web = Recorder(
        {
            f"http://{PUBLIC_IP}/a.png": httpx.Response(
                302, headers={"location": "http://169.254.169.254/latest/meta-data/"}
            )
        }
    )

    error = await fetch_error("http://images.example.com/a.png", fetch_transport=web.transport, resolver=fake_dns)

    assert "169.254.169.254" in error.message
    assert len(web.requests) == 1


async def test_an_image_over_the_size_cap_is_refused_by_its_declared_length() -> None:
    web = Recorder({f"http://{PUBLIC_IP}/big.png": httpx.Response(200, content=PNG * 100)})

    error = await fetch_error(
        "http://images.example.com/big.png", fetch_transport=web.transport, resolver=fake_dns, fetch_max_bytes=64
    )

    assert "64-byte limit" in error.message


async def test_an_image_over_the_size_cap_is_refused_while_streaming() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield PNG

    web = Recorder({f"http://{PUBLIC_IP}/stream.png": httpx.Response(200, content=endless())})

    error = await fetch_error(
        "http://images.example.com/stream.png", fetch_transport=web.transport, resolver=fake_dns, fetch_max_bytes=64
    )

    assert "64-byte limit" in error.message


async def test_a_slow_server_times_out() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(5)
        return httpx.Response(200, content=PNG)

    error = await fetch_error(
        "http://images.example.com/slow.png",
        fetch_transport=httpx.MockTransport(slow),
        resolver=fake_dns,
        fetch_timeout=0.05,
    )

    assert "timed out" in error.message


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (httpx.Response(404), "HTTP 404"),
        (httpx.Response(200, content=b"<html></html>", headers={"content-type": "text/html"}), "text/html"),
    ],
)
async def test_a_url_that_is_not_an_image_is_refused(response: httpx.Response, fragment: str) -> None:
    web = Recorder({f"http://{PUBLIC_IP}/x": response})

    error = await fetch_error("http://images.example.com/x", fetch_transport=web.transport, resolver=fake_dns)

    assert fragment in error.message


@pytest.mark.parametrize("url", ["ftp://images.example.com/cat.png", "file:///etc/passwd"])
async def test_only_http_and_https_urls_are_fetched(url: str) -> None:
    error = await fetch_error(url)
    assert "http(s)" in error.message
