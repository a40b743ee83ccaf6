"""``OpenAIChatProvider``: any OpenAI-compatible ``/chat/completions`` upstream over httpx, always streamed.

Requests go straight to an httpx transport (``Http1Transport`` when deployed, ``MockTransport`` in tests):
the gateway sends one kind of request to a fixed URL, so ``AsyncClient``'s URL merging, cookie jar, auth
and redirect flows were per-call cost with nothing to do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any

import httpx
from pydantic_core import from_json, to_json

from gateway.errors import ContextLengthExceededError, InvalidRequestError, RateLimitError, UpstreamError
from gateway.providers.base import (
    Finish,
    FinishReason,
    ModelRequest,
    ProviderEvent,
    ProviderStream,
)
from gateway.providers.openai_chat_request import chat_body
from gateway.providers.openai_chat_stream import chunk_events

_DRAIN_SECONDS = 1.0
_CONTEXT_TOO_LONG = re.compile(
    r"context_length_exceeded|maximum context length|context length|context window|too many tokens"
    r"|prompt is too long|input is too long",
    re.IGNORECASE,
)


class OpenAIChatProvider:
    """One named OpenAI-compatible upstream (``openai``, or one from ``RESPONSES_PROVIDERS_FILE``)."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        api_key: str | None,
        transport: httpx.AsyncBaseTransport,
        timeouts: dict[str, float],
        max_tokens_field: str = "max_completion_tokens",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self._url = httpx.URL(base_url.rstrip("/") + "/chat/completions")
        self._transport = transport
        self._extensions = {"timeout": timeouts}
        self._max_tokens_field = max_tokens_field
        fixed = {
            "host": self._url.netloc.decode("ascii"),
            "accept": "text/event-stream",
            "accept-encoding": "identity",
            "content-type": "application/json",
            "user-agent": "responses-gateway",
            **(headers or {}),
        }
        if api_key:
            fixed["authorization"] = f"Bearer {api_key}"
        self._headers = httpx.Headers(fixed)  # normalized once: httpx copies a Headers as is, a dict key by key

    async def open(self, request: ModelRequest) -> ProviderStream:
        body = to_json(chat_body(request, max_tokens_field=self._max_tokens_field))  # compact UTF-8, as from_json
        headers = httpx.Headers(self._headers)
        headers["content-length"] = str(len(body))
        # A ready stream and headers: httpx's content= path re-derives both and cost 4x as much per request.
        upstream = httpx.Request(
            "POST", self._url, headers=headers, stream=httpx.ByteStream(body), extensions=self._extensions
        )
        try:
            reply = await self._transport.handle_async_request(upstream)
        except httpx.TimeoutException as exc:
            raise UpstreamError(f"Upstream '{self.name}' timed out.") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Upstream '{self.name}' is unreachable: {type(exc).__name__}.") from exc
        if reply.status_code >= 400:
            detail = await reply.aread()
            await reply.aclose()
            raise self._status_error(reply, detail)
        return ProviderStream(events=self._events(reply))

    async def aclose(self) -> None:
        """The shared transport is owned by the registry."""

    async def _events(self, reply: httpx.Response) -> AsyncIterator[ProviderEvent]:
        started: set[int] = set()
        finish: FinishReason | None = None
        done = False
        reads = _sse_data(reply)
        try:
            async for payloads in reads:
                for data in payloads:
                    if data == b"[DONE]":
                        done = True
                        break
                    chunk = from_json(data)  # pydantic's Rust parser: 4x json.loads on a chunk this size
                    if "error" in chunk:
                        raise UpstreamError(f"Upstream '{self.name}' failed mid-stream: {_message_of(chunk)}")
                    for event in chunk_events(chunk, started):
                        if isinstance(event, Finish):
                            finish = event.reason
                        else:
                            yield event
                if done:
                    break
        except httpx.HTTPError as exc:
            raise UpstreamError(f"Upstream '{self.name}' broke off the stream: {type(exc).__name__}.") from exc
        except ValueError as exc:  # not JSON, or not UTF-8
            raise UpstreamError(f"Upstream '{self.name}' sent a malformed chunk.") from exc
        finally:
            if done:
                await _drain(reads)
            await reads.aclose()
            await reply.aclose()
        if finish is None and not done:
            raise UpstreamError(f"Upstream '{self.name}' ended the stream without finishing.")
        yield Finish(finish or "stop")

    def _status_error(self, reply: httpx.Response, detail: bytes) -> Exception:
        try:
            payload: Any = json.loads(detail)
        except ValueError:
            payload = {"error": {"message": detail.decode(errors="replace")[:500]}}
        message = _message_of(payload)
        status = reply.status_code
        if status == 429:
            return RateLimitError(
                f"Upstream '{self.name}' rate limit reached: {message}",
                retry_after=reply.headers.get("retry-after"),
            )
        if status >= 500:
            return UpstreamError(f"Upstream '{self.name}' failed with status {status}: {message}")
        error = payload.get("error") if isinstance(payload, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if code == "context_length_exceeded" or _CONTEXT_TOO_LONG.search(message):
            return ContextLengthExceededError(message)
        if status in (401, 403):
            return InvalidRequestError(
                f"Upstream '{self.name}' refused the gateway's credentials ({status}): {message}"
            )
        param = error.get("param") if isinstance(error, dict) else None
        return InvalidRequestError(
            message,
            param=param if isinstance(param, str) else None,
            code=code if isinstance(code, str) else None,
        )


async def _sse_data(reply: httpx.Response) -> AsyncGenerator[list[bytes], None]:
    """The ``data:`` payloads of the body, a list per read. Lines split on LF, CRLF or CR as SSE allows, and
    stay bytes (``from_json`` takes them): decoding every chunk to text first, or a generator step per line,
    cost more than the JSON parsing."""
    pending = b""
    # Unless the upstream compressed the body anyway, the transport's own stream: httpx's decoder and chunker
    # layers cost a generator hop per chunk each for nothing.
    body = reply.aiter_bytes() if "content-encoding" in reply.headers else reply.stream
    assert isinstance(body, AsyncIterable)
    async for chunk in body:
        lines = (pending + chunk).splitlines(keepends=True)
        pending = lines.pop() if lines and not lines[-1].endswith((b"\n", b"\r")) else b""
        yield [line[5:].strip() for line in lines if line.startswith(b"data:")]
    # A line the body ends in the middle of is dropped, as SSE says: a cut-off stream is told apart by the
    # missing finish, not by a half-parsed JSON chunk.


async def _drain(reads: AsyncIterator[list[bytes]]) -> None:
    """Read the body to its end after ``[DONE]``: only a fully read response goes back to the pool, and a
    socket closed with unread data is reset, costing a new TCP (and TLS) handshake on the next call."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in reads:
                pass


def _message_of(payload: Any) -> str:
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if payload.get("message"):
            return str(payload["message"])
        if payload.get("detail"):
            return str(payload["detail"])
    return "no details"
