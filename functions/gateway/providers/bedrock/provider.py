"""``BedrockConverseProvider``: ``bedrock/<model id>`` through Amazon Bedrock's ConverseStream.

The request is translated by ``bedrock_request`` (messages, tools, options), the stream by
``bedrock_stream``, failures by ``bedrock_errors``. boto3 is synchronous, so the call and every read of the
event stream run in a worker thread. ``open`` returns only after the first event has arrived: throttling,
validation and access errors, whether Bedrock sends them as an HTTP error or as the stream's first event,
surface there as 429/400 before any output exists.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import boto3
import httpx
from botocore.config import Config

from gateway.domain.upstream import ModelRequest, ProviderEvent
from gateway.errors import UpstreamError
from gateway.providers.bedrock.errors import map_api_errors, map_stream_errors
from gateway.providers.bedrock.media import MediaLoader, Resolver
from gateway.providers.bedrock.request import ConversePlan, build_request
from gateway.providers.bedrock.stream import StreamTranslator
from gateway.providers.token_count import count_tokens_request
from gateway.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.client import BedrockRuntimeClient
    from mypy_boto3_bedrock_runtime.type_defs import ConverseStreamOutputTypeDef

_TOTAL_ATTEMPTS = 2
"""One botocore retry on throttling and 5xx: OpenAI SDK clients retry 429/5xx again on their side."""


def _next_chunk(chunks: Iterator[ConverseStreamOutputTypeDef]) -> ConverseStreamOutputTypeDef | None:
    """One blocking read; ``None`` at the end (``StopIteration`` cannot cross a thread boundary)."""
    return next(chunks, None)


class BedrockConverseProvider:
    """Amazon Bedrock through the Converse API, always streaming."""

    name = "bedrock"

    def __init__(
        self,
        settings: Settings,
        client: Any | None = None,
        *,
        fetch_transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        """``client`` is a ready ``bedrock-runtime`` client (tests pass one); without it one is built on
        first use, in ``settings.aws_region``. ``fetch_transport`` and ``resolver`` replace the network for
        image URL fetching (tests)."""
        self._settings = settings
        self._client: BedrockRuntimeClient | None = client
        self._owns_client = client is None
        self._fetch_transport = fetch_transport
        self._resolver = resolver

    def _bedrock(self) -> BedrockRuntimeClient:
        if self._client is None:
            config = Config(
                connect_timeout=self._settings.upstream_connect_timeout,
                # botocore's read timeout is the longest silence between two reads: the idle timeout. The whole
                # call's limit (upstream_read_timeout) is checked as each event arrives, below.
                read_timeout=self._settings.upstream_idle_timeout,
                retries={"mode": "standard", "total_max_attempts": _TOTAL_ATTEMPTS},
            )
            session = boto3.session.Session()
            self._client = session.client("bedrock-runtime", region_name=self._settings.aws_region, config=config)
        return self._client

    @asynccontextmanager
    async def open(self, request: ModelRequest) -> AsyncIterator[AsyncIterator[ProviderEvent]]:
        plan = await self._plan(request)
        client = self._bedrock()
        errors = partial(map_api_errors, model=request.model, region=client.meta.region_name)
        with errors():
            response = await anyio.to_thread.run_sync(partial(client.converse_stream, **plan.body))
        stream = response["stream"]
        chunks = iter(stream)
        try:
            with errors():
                first = await anyio.to_thread.run_sync(_next_chunk, chunks)
        except BaseException:
            stream.close()
            raise
        translator = StreamTranslator(output_tool=plan.output_tool, single_tool_call=plan.single_tool_call)
        deadline = time.monotonic() + self._settings.upstream_read_timeout
        events = _events(chunks, first, translator, deadline)
        try:
            yield events
        finally:
            await events.aclose()
            stream.close()  # a read blocked in its thread fails and ends

    async def _plan(self, request: ModelRequest) -> ConversePlan:
        """The Converse request for ``request`` (image URLs fetched as bytes on the way)."""
        media = MediaLoader(self._settings, transport=self._fetch_transport, resolver=self._resolver)
        try:
            return await build_request(request, media, drop_unsupported=self._settings.drop_unsupported_params)
        finally:
            await media.aclose()

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    async def count_input_tokens(self, request: ModelRequest) -> int:
        """Bedrock's own count (``CountTokens``) of the Converse request ``open`` would send."""
        plan = await self._plan(request)
        client = self._bedrock()
        with map_api_errors(model=request.model, region=client.meta.region_name):
            counted = await anyio.to_thread.run_sync(partial(client.count_tokens, **count_tokens_request(plan.body)))
        return counted["inputTokens"]


async def _events(
    chunks: Iterator[ConverseStreamOutputTypeDef],
    first: ConverseStreamOutputTypeDef | None,
    translator: StreamTranslator,
    deadline: float,
) -> AsyncGenerator[ProviderEvent, None]:
    """Translate chunks as they arrive. A read blocked in its thread is abandoned on cancellation; ``open``
    closing the stream then makes it fail and end."""
    chunk = first
    while chunk is not None:
        for event in translator.feed(chunk):
            yield event
        if time.monotonic() > deadline:
            raise UpstreamError("Bedrock did not finish within RESPONSES_UPSTREAM_READ_TIMEOUT.")
        with map_stream_errors():
            chunk = await anyio.to_thread.run_sync(_next_chunk, chunks, abandon_on_cancel=True)
    for event in translator.finish():
        yield event
