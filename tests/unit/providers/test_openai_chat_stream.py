"""The upstream's SSE body, however it is cut into reads and whichever line endings it uses, gives the same events.

The provider is built by the registry over an ``httpx.MockTransport``: the real client, the real SSE parsing."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.domain.context import normalize_input
from gateway.domain.upstream import Finish, ModelRequest, Provider, ProviderEvent, TextDelta, Usage
from gateway.errors import UpstreamError
from gateway.providers.registry import ProviderRegistry
from gateway.schemas.requests import ResponseCreateParams
from gateway.settings import Settings
from tests.fakes.opened import enter

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


def provider(handler: httpx.MockTransport, **settings: object) -> Provider:
    # A key: without one, the default api.openai.com upstream refuses before any call (test_upstream_setup.py).
    settings = {"openai_api_key": "sk-test", **settings}
    registry = ProviderRegistry(Settings(**settings), http_transport=handler)  # type: ignore[arg-type]
    return registry.resolve("openai/m")[0]


def model_request() -> ModelRequest:
    params = ResponseCreateParams.model_validate({"model": "m", "input": "hi"})
    return ModelRequest("m", None, normalize_input(params.input, "0" * 24, {}), params)


def events_from(raw: bytes, read_size: int, headers: dict[str, str] | None = None) -> list[ProviderEvent]:
    async def reads() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), read_size):
            yield raw[start : start + read_size]

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream", **(headers or {})}, content=reads())

    upstream = provider(httpx.MockTransport(reply))

    async def collect() -> list[ProviderEvent]:
        stream = await enter(upstream.open(model_request()))
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


def test_the_upstream_request_carries_the_key_the_declared_headers_and_the_json_body(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body(b"\n"))

    providers_file = tmp_path / "providers.json"
    declared = {"base_url": "http://upstream:8000/v1/", "api_key": "sk-up", "headers": {"x-tenant": "t1"}}
    providers_file.write_text(json.dumps({"vllm": declared}))
    settings = Settings(providers_file=providers_file, upstream_idle_timeout=7, upstream_connect_timeout=3)
    vllm, _ = ProviderRegistry(settings, http_transport=httpx.MockTransport(reply)).resolve("vllm/m")

    async def call() -> None:
        stream = await enter(vllm.open(model_request()))
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
    assert request.extensions["timeout"]["read"] == 7  # the idle timeout bounds each read
    assert request.extensions["timeout"]["connect"] == 3


def sse(*events: bytes) -> bytes:
    return b"".join(event + b"\n\n" for event in events)


def test_an_event_whose_data_spans_several_lines_is_one_chunk() -> None:
    # SSE joins an event's data: lines with a newline; a JSON chunk split over lines is still one chunk.
    first = b'data: {"choices": [{"index": 0,\ndata:   "delta": {"content": "Hi"}}]}'
    second = b'data: {"choices": [{"index": 0, "delta": {},\ndata: "finish_reason": "stop"}]}'
    raw = sse(first, second, b"data: [DONE]")
    assert events_from(raw, 1 << 20) == [TextDelta("Hi"), Finish("stop")]
    assert events_from(raw, 3) == [TextDelta("Hi"), Finish("stop")]


def test_named_events_ids_and_dataless_events_are_not_chunks() -> None:
    raw = sse(
        b"event: ping",
        b"id: 1\nretry: 100",
        b'event: message\nid: 2\ndata: {"choices": [{"index": 0, "delta": {"content": "ok"}}]}',
        b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}',
        b"data: [DONE]",
    )
    assert events_from(raw, 5) == [TextDelta("ok"), Finish("max_output_tokens")]


@pytest.mark.parametrize("data", [b"null", b"5", b'"x"', b"[1]", b"{not json", b"\xff"])
def test_a_chunk_that_is_not_a_chunk_object_fails_the_stream_as_an_upstream_error(data: bytes) -> None:
    raw = sse(b'data: {"choices": [{"index": 0, "delta": {"content": "a"}}]}', b"data: " + data, b"data: [DONE]")
    with pytest.raises(UpstreamError, match="malformed chunk"):
        events_from(raw, 1 << 20)


def test_an_error_object_inside_the_stream_is_an_upstream_error_with_its_message() -> None:
    raw = sse(b'data: {"error": {"message": "model crashed"}}')
    with pytest.raises(UpstreamError, match="model crashed"):
        events_from(raw, 1 << 20)


def test_a_200_that_is_not_an_event_stream_is_an_upstream_error() -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": []})

    async def call() -> None:
        stream = await enter(provider(httpx.MockTransport(reply)).open(model_request()))
        async for _ in stream.events:
            pass

    with pytest.raises(UpstreamError, match="event stream"):
        asyncio.run(call())
