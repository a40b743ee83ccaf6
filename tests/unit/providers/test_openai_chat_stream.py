"""The upstream's SSE body, however it is cut into reads and whichever line endings it uses, gives the same events."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.domain.context import normalize_input
from gateway.errors import UpstreamError
from gateway.providers.base import Finish, ModelRequest, ProviderEvent, TextDelta, Usage
from gateway.providers.openai_chat import OpenAIChatProvider
from gateway.schemas.requests import ResponseCreateParams

CHUNKS = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hé"}}]},
    {"choices": [{"index": 0, "delta": {"content": "llo"}, "finish_reason": "stop"}]},
    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
]
EXPECTED = [TextDelta("Hé"), TextDelta("llo"), Usage(3, 2, 0, 0), Finish("stop")]


def body(newline: bytes, *, done: bool = True) -> bytes:
    events = [b"data: " + json.dumps(chunk, ensure_ascii=False).encode() for chunk in CHUNKS]
    if done:
        events.append(b"data: [DONE]")
    return b"".join(b": comment" + newline + event + newline + newline for event in events)


def events_from(raw: bytes, read_size: int, headers: dict[str, str] | None = None) -> list[ProviderEvent]:
    async def reads() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), read_size):
            yield raw[start : start + read_size]

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream", **(headers or {})}, content=reads())

    provider = OpenAIChatProvider(
        "openai", base_url="http://upstream/v1", api_key="k", transport=httpx.MockTransport(reply), timeouts={}
    )
    params = ResponseCreateParams.model_validate({"model": "m", "input": "hi"})
    request = ModelRequest("m", None, normalize_input(params.input, "0" * 24, {}), params)

    async def collect() -> list[ProviderEvent]:
        stream = await provider.open(request)
        return [event async for event in stream.events]

    return asyncio.run(collect())


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("read_size", [1, 2, 7, 1 << 20])
def test_events_do_not_depend_on_read_boundaries_or_line_endings(newline: bytes, read_size: int) -> None:
    assert events_from(body(newline), read_size) == EXPECTED


def test_a_multibyte_character_split_across_reads_survives() -> None:
    raw = body(b"\n")
    split = raw.index("é".encode()) + 1  # between the two bytes of é
    assert events_from(raw, split) == EXPECTED


def test_a_body_compressed_despite_accept_encoding_identity_is_decompressed() -> None:
    assert events_from(gzip.compress(body(b"\n")), 16, {"content-encoding": "gzip"}) == EXPECTED


def test_a_stream_cut_before_its_end_is_an_upstream_error() -> None:
    raw = body(b"\n", done=False)
    raw = raw[: raw.index(b'"finish_reason"')]
    with pytest.raises(UpstreamError, match="ended the stream without finishing"):
        events_from(raw, 16)


def test_the_upstream_request_carries_the_key_the_declared_headers_and_the_json_body() -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body(b"\n"))

    provider = OpenAIChatProvider(
        "vllm",
        base_url="http://upstream:8000/v1/",
        api_key="sk-up",
        transport=httpx.MockTransport(reply),
        timeouts={"read": 5.0},
        headers={"x-tenant": "t1"},
    )
    params = ResponseCreateParams.model_validate({"model": "m", "input": "hi"})

    async def call() -> None:
        stream = await provider.open(ModelRequest("m", None, normalize_input(params.input, "0" * 24, {}), params))
        async for _ in stream.events:
            pass

    asyncio.run(call())
    [request] = seen
    assert (request.method, str(request.url)) == ("POST", "http://upstream:8000/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-up"
    assert request.headers["x-tenant"] == "t1"
    assert request.headers["host"] == "upstream:8000"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["content-length"] == str(len(request.content))
    assert json.loads(request.content)["messages"] == [{"role": "user", "content": "hi"}]
    assert request.extensions["timeout"] == {"read": 5.0}
