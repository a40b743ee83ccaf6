"""A fake Amazon Bedrock ``ConverseStream`` endpoint inside botocore: a ``before-send`` hook answers each call.

The real client serializes the request (tests read the exact JSON botocore would send) and the real parser
reads the reply: event-stream frames encoded here byte for byte and delivered in odd-sized chunks, exception
frames and HTTP errors included. Nothing leaves the process and no credentials are needed.
"""

from __future__ import annotations

import base64
import functools
import json
import struct
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import unquote, urlsplit

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from gateway.domain.tools import build_toolset
from gateway.domain.transcript import to_upstream
from gateway.domain.upstream import ModelRequest, ProviderEvent
from gateway.providers.bedrock.provider import BedrockConverseProvider
from gateway.schemas.items import InputText, ItemReference, Message
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.tool_items import ContextItem
from gateway.settings import Settings
from tests.fakes.opened import Opened, enter

Json = dict[str, Any]
Event = tuple[str, Json, Literal["event", "exception"]]

ENDPOINT = "https://bedrock-runtime.fake.invalid"
"""Outside AWS's domains, so ``moto.mock_aws`` (whose URL patterns would answer bedrock-runtime with a 500)
leaves these calls to this fake; the hook answers before anything is sent."""
CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"
"""Claude Sonnet 4.5: budget thinking and native structured output."""


# frames ---------------------------------------------------------------------------------------------------


def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    return bytes([len(name_bytes)]) + name_bytes + b"\x07" + struct.pack(">H", len(value_bytes)) + value_bytes


def frame(event_type: str, payload: Json, kind: Literal["event", "exception"] = "event") -> bytes:
    """One AWS event-stream message (prelude, headers, JSON payload, CRCs)."""
    headers = (
        _header(":event-type" if kind == "event" else ":exception-type", event_type)
        + _header(":content-type", "application/json")
        + _header(":message-type", kind)
    )
    body = json.dumps(payload).encode()
    prelude = struct.pack(">II", 16 + len(headers) + len(body), len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


# events ---------------------------------------------------------------------------------------------------


def message_start() -> list[Event]:
    return [("messageStart", {"role": "assistant"}, "event")]


def text(index: int, *pieces: str, stop: bool = True) -> list[Event]:
    events: list[Event] = [
        ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": p}}, "event") for p in pieces
    ]
    return events + (block_stop(index) if stop else [])


def tool_use(index: int, tool_use_id: str, name: str, *input_pieces: str) -> list[Event]:
    start: Event = (
        "contentBlockStart",
        {"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": tool_use_id, "name": name}}},
        "event",
    )
    deltas: list[Event] = [
        ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}, "event")
        for piece in input_pieces
    ]
    return [start, *deltas, *block_stop(index)]


def reasoning(index: int, *pieces: str, signature: str | None = None, redacted: bytes | None = None) -> list[Event]:
    def delta(body: Json) -> Event:
        return ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"reasoningContent": body}}, "event")

    events = [delta({"text": piece}) for piece in pieces]
    if signature is not None:
        events.append(delta({"signature": signature}))
    if redacted is not None:
        events.append(delta({"redactedContent": base64.b64encode(redacted).decode()}))
    return [*events, *block_stop(index)]


def block_stop(index: int) -> list[Event]:
    return [("contentBlockStop", {"contentBlockIndex": index}, "event")]


def message_stop(reason: str = "end_turn") -> list[Event]:
    return [("messageStop", {"stopReason": reason}, "event")]


def metadata(input_tokens: int = 11, output_tokens: int = 7, cache_read: int = 0, cache_write: int = 0) -> list[Event]:
    usage: Json = {"inputTokens": input_tokens, "outputTokens": output_tokens}
    usage["totalTokens"] = input_tokens + output_tokens + cache_read + cache_write
    if cache_read:
        usage["cacheReadInputTokens"] = cache_read
    if cache_write:
        usage["cacheWriteInputTokens"] = cache_write
    return [("metadata", {"usage": usage, "metrics": {"latencyMs": 42}}, "event")]


def exception(name: str, message: str) -> list[Event]:
    """An exception event, e.g. ``throttlingException`` or ``modelStreamErrorException``."""
    return [(name, {"message": message}, "exception")]


# replies --------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer: a 200 event stream, or an HTTP error with Bedrock's error shape."""

    events: list[Event] = field(default_factory=list)
    status: int = 200
    error_code: str | None = None
    error_message: str = ""
    hang: bool = False
    """After the events, block the reader until the stream is closed (a model still thinking)."""


def stream(*parts: list[Event], hang: bool = False) -> Reply:
    return Reply(events=[event for part in parts for event in part], hang=hang)


def text_reply(*pieces: str, stop_reason: str = "end_turn", usage: tuple[int, int] = (11, 7)) -> Reply:
    """``messageStart``, one text block of ``pieces``, ``messageStop`` and usage metadata."""
    return stream(message_start(), text(0, *pieces), message_stop(stop_reason), metadata(*usage))


def error_reply(status: int, code: str, message: str) -> Reply:
    return Reply(status=status, error_code=code, error_message=message)


class _RawStream:
    """The ``raw`` of an ``AWSResponse``: yields the body in odd-sized chunks; ``close`` unblocks a hang."""

    def __init__(self, body: bytes, chunk_size: int, hang: bool) -> None:
        self._body = body
        self._chunk_size = chunk_size
        self._hang = hang
        self.closed = threading.Event()

    def stream(self, **_: Any) -> Iterator[bytes]:
        for start in range(0, len(self._body), self._chunk_size):
            yield self._body[start : start + self._chunk_size]
        if self._hang:
            self.closed.wait(timeout=10)
            raise ConnectionResetError("stream closed while the model was still running")

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body

    def close(self) -> None:
        self.closed.set()


@functools.cache
def _session() -> boto3.session.Session:
    """One session for every fake client: loading botocore's service model once keeps the tests fast."""
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


class FakeBedrock:
    """Queue replies with ``add``; every ``ConverseStream`` call pops one and records the request it got."""

    def __init__(self, chunk_size: int = 37) -> None:
        self.chunk_size = chunk_size
        self.requests: list[Json] = []
        self.model_ids: list[str] = []
        self.streams: list[_RawStream] = []
        self._replies: deque[Reply] = deque()

    def add(self, *replies: Reply) -> FakeBedrock:
        self._replies.extend(replies)
        return self

    @property
    def last_request(self) -> Json:
        return self.requests[-1]

    def client(self, region: str = "us-east-1") -> Any:
        """A real ``bedrock-runtime`` client (fake credentials, no retries) answered by this fake."""
        config = Config(retries={"mode": "standard", "total_max_attempts": 1})
        client = _session().client("bedrock-runtime", region_name=region, config=config, endpoint_url=ENDPOINT)
        hook: Any = self._answer  # botocore's stubs type hooks as returning None; before-send may answer
        client.meta.events.register("before-send.bedrock-runtime.ConverseStream", hook)
        return client

    def _answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        body = request.body
        assert isinstance(body, bytes | str), "ConverseStream bodies are serialized JSON"
        self.requests.append(json.loads(body or "{}"))
        path = urlsplit(request.url).path
        self.model_ids.append(unquote(path.removeprefix("/model/").removesuffix("/converse-stream")))
        if not self._replies:
            raise AssertionError("FakeBedrock got a ConverseStream call with no reply scripted")
        reply = self._replies.popleft()
        if reply.error_code is not None:
            payload = json.dumps({"message": reply.error_message}).encode()
            headers: Any = {
                "content-type": "application/json",
                "x-amzn-errortype": f"{reply.error_code}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            }
            return AWSResponse(request.url, reply.status, headers, _RawStream(payload, len(payload), False))
        raw = _RawStream(b"".join(frame(*event) for event in reply.events), self.chunk_size, reply.hang)
        self.streams.append(raw)
        headers = {"content-type": "application/vnd.amazon.eventstream", "x-amzn-requestid": "fake-request"}
        return AWSResponse(request.url, 200, cast(Any, headers), raw)


# requests -------------------------------------------------------------------------------------------------


def make_request(model: str = CLAUDE, **body: Any) -> ModelRequest:
    """A ``ModelRequest`` as the engine builds it, from a Responses request body (validated like the API does)."""
    params = ResponseCreateParams.model_validate_json(json.dumps({"model": f"bedrock/{model}", **body}))
    items: list[ContextItem] = []
    if isinstance(params.input, str):
        items.append(Message(role="user", content=[InputText(text=params.input)]))
    elif params.input is not None:
        items.extend(item for item in params.input if not isinstance(item, ItemReference))
    tools = build_toolset(params, items, refuse_hosted=False)
    return ModelRequest(model, params.instructions, to_upstream(items), params, tools)


async def collect(opened: Opened) -> list[ProviderEvent]:
    try:
        return [event async for event in opened.events]
    finally:
        await opened.aclose()


def make_provider(fake: FakeBedrock, **settings: Any) -> BedrockConverseProvider:
    """The real provider on ``fake``'s client; ``settings`` override ``Settings`` fields (fetch_*, drop_*)."""
    transport = settings.pop("fetch_transport", None)
    resolver = settings.pop("resolver", None)
    return BedrockConverseProvider(
        Settings(**settings), client=fake.client(), fetch_transport=transport, resolver=resolver
    )


async def converse(request: ModelRequest, *replies: Reply, **settings: Any) -> tuple[Json, list[ProviderEvent]]:
    """Send ``request`` through the provider; return the JSON botocore sent and the events that came back."""
    fake = FakeBedrock().add(*(replies or (text_reply("ok"),)))
    events = await collect(await enter(make_provider(fake, **settings).open(request)))
    return fake.last_request, events
