"""Request intake: compressed bodies (Codex sends zstd), the body size limit, Codex's headers, unknown URLs."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from backports import zstd
from fastapi.testclient import TestClient

from tests.conftest import AppFactory
from tests.fakes.upstream import FakeUpstream

BODY = {"model": "gpt-4o-mini", "input": "Say hi to the compressed world"}
MiB = 1024 * 1024


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


def post(client: TestClient, content: bytes | Iterator[bytes], encoding: str | None, **headers: str) -> Any:
    if encoding is not None:
        headers["content-encoding"] = encoding
    return client.post("/v1/responses", content=content, headers={"content-type": "application/json", **headers})


def assert_error(reply: Any, status: int, code: str | None, *fragments: str) -> None:
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    for fragment in fragments:
        assert fragment in error["message"]


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("zstd", zstd.compress),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", lambda data: deflate(data, 15)),  # zlib-framed, as HTTP defines deflate
        ("deflate", lambda data: deflate(data, -15)),  # bare deflate, as some clients send it
        ("ZSTD", zstd.compress),
        ("identity", lambda data: data),
    ],
)
def test_compressed_bodies_are_decompressed_before_parsing(
    client: TestClient, upstream: FakeUpstream, encoding: str, pack: Any
) -> None:
    reply = post(client, pack(raw(BODY)), encoding)

    assert reply.status_code == 200, reply.text
    assert upstream.last["messages"][-1]["content"] == BODY["input"]
    assert reply.json()["output"][0]["content"][0]["text"] == "echo: " + BODY["input"]


def test_concatenated_zstd_frames_are_one_body(client: TestClient, upstream: FakeUpstream) -> None:
    data = raw(BODY)
    reply = post(client, zstd.compress(data[:10]) + zstd.compress(data[10:]), "zstd")

    assert reply.status_code == 200, reply.text
    assert upstream.last["messages"][-1]["content"] == BODY["input"]


def test_codex_headers_are_never_an_error(client: TestClient, upstream: FakeUpstream) -> None:
    codex = {
        "session_id": "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "x-client-request-id": "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "x-codex-turn-state": "opaque-turn-state",
        "OpenAI-Beta": "responses=experimental",
        "originator": "codex_cli_rs",
        "version": "0.144.0",
        "accept": "text/event-stream",
    }
    reply = post(client, zstd.compress(raw({**BODY, "stream": True})), "zstd", **codex)

    assert reply.status_code == 200, reply.text
    assert "response.completed" in reply.text
    assert upstream.last["messages"][-1]["content"] == BODY["input"]


def _zstd_bomb(size: int) -> bytes:
    packer = zstd.ZstdCompressor()
    zeros = bytes(MiB)
    return b"".join(packer.compress(zeros) for _ in range(size // MiB)) + packer.flush()


def _gzip_bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    return b"".join(packer.compress(zeros) for _ in range(size // MiB)) + packer.flush()


@pytest.mark.parametrize(("encoding", "bomb"), [("zstd", _zstd_bomb), ("gzip", _gzip_bomb)])
def test_a_zip_bomb_is_a_413_without_inflating_it(make_client: AppFactory, encoding: str, bomb: Any) -> None:
    client = make_client(max_body_bytes=MiB)
    payload = bomb(128 * MiB)
    assert len(payload) < MiB  # the limit is on what the body decompresses to, not on what was sent

    tracemalloc.start()
    try:
        reply = post(client, payload, encoding)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert_error(reply, 413, "request_too_large", f"{MiB} bytes after decompression", "RESPONSES_MAX_BODY_BYTES")
    assert peak < 16 * MiB, f"decompression held {peak / MiB:.0f} MiB"


def test_a_body_just_within_the_limit_after_decompression_is_accepted(
    make_client: AppFactory, upstream: FakeUpstream
) -> None:
    body = raw(BODY)
    client = make_client(max_body_bytes=len(body))

    assert post(client, zstd.compress(body), "zstd").status_code == 200
    assert_error(post(client, zstd.compress(body + b" "), "zstd"), 413, "request_too_large")


def test_a_plain_body_over_the_limit_is_a_413(make_client: AppFactory, upstream: FakeUpstream) -> None:
    client = make_client(max_body_bytes=1000)
    big = raw({**BODY, "input": "x" * 2000})

    assert_error(post(client, big, None), 413, "request_too_large", "1000 bytes")
    # without a content-length (chunked), the bytes are counted as they arrive
    assert_error(post(client, iter([big[:600], big[600:]]), None), 413, "request_too_large")
    assert upstream.requests == []


def test_the_default_limit_is_16_mib(client: TestClient) -> None:
    over = b'{"model":"gpt-4o-mini","input":"' + b"x" * (16 * MiB) + b'"}'
    assert_error(post(client, over, None), 413, "request_too_large", f"{16 * MiB} bytes")


@pytest.mark.parametrize("encoding", ["br", "compress", "gzip, zstd"])
def test_an_unknown_encoding_is_a_415(client: TestClient, upstream: FakeUpstream, encoding: str) -> None:
    reply = post(client, raw(BODY), encoding)

    assert_error(reply, 415, "unsupported_content_encoding", f"'{encoding}'", "zstd, gzip or deflate")
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("zstd", b"this is not zstd at all"),
        ("gzip", b"\x1f\x8bnot really gzip"),
        ("deflate", b"\xff\xfe\xfd garbage"),
        ("zstd", zstd.compress(raw(BODY))[:-6]),  # cut short
        ("gzip", gzip.compress(raw(BODY))[:-12]),
    ],
)
def test_a_corrupt_body_is_a_400(client: TestClient, upstream: FakeUpstream, encoding: str, payload: bytes) -> None:
    reply = post(client, payload, encoding)

    assert_error(reply, 400, "invalid_body", f"Content-Encoding: {encoding}")
    assert upstream.requests == []


# unknown URLs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/responses/compact"),
        ("POST", "/v1/responses/anything"),
        ("PUT", "/v1/responses/resp_123"),
        ("POST", "/v1/responses/"),
        ("GET", "/v1/responses/"),
        ("GET", "/v1/nothing/here"),
    ],
)
def test_unknown_urls_are_a_404_envelope_never_a_redirect(client: TestClient, method: str, path: str) -> None:
    reply = client.request(method, path, json=BODY, follow_redirects=False)

    assert_error(reply, 404, None)
    assert reply.json()["error"]["message"] == f"Invalid URL ({method} {path})"
