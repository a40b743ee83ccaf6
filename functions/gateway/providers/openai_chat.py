"""``OpenAIChatProvider``: any OpenAI-compatible ``/chat/completions`` upstream, always streamed.

HTTP goes through the registry's ``httpx.AsyncClient`` (its pool, TLS, proxies and the idle timeout between
reads); the body's SSE framing through httpx-sse. What is left here is the gateway's own policy: the total
deadline of a call, and which upstream failure becomes which client error."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError
from pydantic_core import from_json, to_json

from gateway.domain.upstream import Finish, FinishReason, ModelRequest, ProviderEvent
from gateway.errors import (
    ContextLengthExceededError,
    InvalidRequestError,
    RateLimitError,
    UpstreamCredentialsError,
    UpstreamError,
)
from gateway.providers.context_limits import is_context_too_long
from gateway.providers.openai_chat_request import chat_body
from gateway.providers.openai_chat_stream import chunk_events
from gateway.providers.token_count import estimate_chat_tokens

logger = logging.getLogger("gateway")

TRANSPORT_ERRORS = (httpx.HTTPError, aiohttp.ClientError, OSError)
"""What the HTTP stack raises for a network or protocol failure. httpx-aiohttp maps most aiohttp errors to
httpx's, but passes some through (a malformed status line is an ``aiohttp.ClientResponseError``)."""

_DRAIN_SECONDS = 1.0
_ERROR_BODY_BYTES = 64 * 1024


class OpenAIChatProvider:
    """One named OpenAI-compatible upstream (``openai``, or one from ``RESPONSES_PROVIDERS_FILE``)."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        api_key: str | None,
        client: httpx.AsyncClient,
        total_timeout: float | None = None,
        max_tokens_field: str = "max_completion_tokens",
        headers: dict[str, str] | None = None,
        credentials_hint: str = "the upstream's API key",
        address_hint: str = "the upstream's base URL",
        unconfigured: str | None = None,
    ) -> None:
        self.name = name
        self._url = httpx.URL(base_url.rstrip("/") + "/chat/completions")
        self._client = client
        self._total_timeout = total_timeout
        self._max_tokens_field = max_tokens_field
        self._credentials_hint = credentials_hint
        self._address_hint = address_hint
        self._unconfigured = unconfigured
        """Why no call can succeed (no key for a server that needs one): said at once, instead of the upstream's
        401 or, offline, a DNS failure that points nowhere."""
        fixed = {
            "accept": "text/event-stream",
            "accept-encoding": "identity",
            "content-type": "application/json",
            "user-agent": "responses-gateway",
            **(headers or {}),
        }
        if api_key:
            fixed["authorization"] = f"Bearer {api_key}"
        self._headers = httpx.Headers(fixed)

    @asynccontextmanager
    async def open(self, request: ModelRequest) -> AsyncIterator[AsyncIterator[ProviderEvent]]:
        if self._unconfigured is not None:
            logger.warning("upstream %s is not configured: %s", self.name, self._unconfigured)
            raise UpstreamCredentialsError(f"Upstream '{self.name}' is not configured: {self._unconfigured}")
        body = to_json(chat_body(request, max_tokens_field=self._max_tokens_field))  # compact UTF-8
        upstream = self._client.build_request("POST", self._url, content=body, headers=self._headers)
        deadline = None if self._total_timeout is None else asyncio.get_running_loop().time() + self._total_timeout
        try:
            async with asyncio.timeout_at(deadline):
                reply = await self._client.send(upstream, stream=True)
                if reply.status_code >= 400:
                    raise self._status_error(reply, await _error_body(reply))
        except TimeoutError as exc:
            raise self._too_long() from exc
        except httpx.ReadTimeout as exc:
            raise self._silent() from exc
        except TRANSPORT_ERRORS as exc:
            raise UpstreamError(
                f"Upstream '{self.name}' could not be reached, or closed the connection ({self._reason(exc)}). "
                f"Check {self._address_hint}."
            ) from exc
        events = self._events(reply, deadline)
        try:
            yield events
        finally:
            # Both, because a generator closed before it first ran skips its own ``finally``: the reply must
            # still close, or the upstream goes on generating into a connection nobody reads.
            await events.aclose()
            await reply.aclose()

    async def aclose(self) -> None:
        """The shared client is owned by the registry."""

    async def _events(self, reply: httpx.Response, deadline: float | None) -> AsyncGenerator[ProviderEvent, None]:
        started: set[int] = set()
        finish: FinishReason | None = None
        done = False
        loop = asyncio.get_running_loop()
        sse = EventSource(reply).aiter_sse()
        try:
            async for event in sse:
                if event.data == "[DONE]":
                    done = True
                    break
                if deadline is not None and loop.time() > deadline:
                    raise self._too_long()
                for provider_event in self._chunk(event, started):
                    if isinstance(provider_event, Finish):
                        finish = provider_event.reason
                    else:
                        yield provider_event
        except httpx.ReadTimeout as exc:
            raise self._silent() from exc
        except SSEError as exc:  # a 200 that is not an event stream
            raise UpstreamError(f"Upstream '{self.name}' did not answer with an event stream.") from exc
        except TRANSPORT_ERRORS as exc:
            raise UpstreamError(f"Upstream '{self.name}' broke off the stream: {self._reason(exc)}.") from exc
        finally:
            if done:
                await _drain(sse)
            await sse.aclose()
            await reply.aclose()
        if finish is None and not done:
            raise UpstreamError(f"Upstream '{self.name}' ended the stream without finishing.")
        yield Finish(finish or "stop")

    def _reason(self, exc: BaseException) -> str:
        """The underlying failure's class, for the client; its words and the upstream's URL, which name the
        operator's hosts, go to the log (with the request's id, from the log scope). httpx-aiohttp maps a dropped
        connection to ``ConnectTimeout``, so httpx's class alone would mislead."""
        cause = exc.__cause__ or exc
        logger.warning("upstream %s at %s failed: %r", self.name, self._url, cause)
        return type(cause).__name__

    def _too_long(self) -> UpstreamError:
        return UpstreamError(
            f"Upstream '{self.name}' took longer than {self._total_timeout:g} s (RESPONSES_UPSTREAM_READ_TIMEOUT)."
        )

    def _silent(self) -> UpstreamError:
        return UpstreamError(
            f"Upstream '{self.name}' sent nothing for longer than the idle timeout (RESPONSES_UPSTREAM_IDLE_TIMEOUT)."
        )

    def _chunk(self, event: ServerSentEvent, started: set[int]) -> list[ProviderEvent]:
        """One SSE event's provider events. Anything that is not a chunk object fails the call at once."""
        if not event.data:
            return []  # an event with no data (a named ping, a lone ``id:``) carries no chunk
        try:
            chunk = from_json(event.data)  # pydantic's Rust parser: 4x json.loads on a chunk this size
            if not isinstance(chunk, dict):
                raise ValueError(f"a JSON {type(chunk).__name__}, not an object")
            if "error" in chunk:
                raise UpstreamError(f"Upstream '{self.name}' failed mid-stream: {_message_of(chunk)}")
            return chunk_events(chunk, started)
        except ValueError as exc:  # not JSON, not an object, or not a chunk's shape (chunk_events validates it)
            raise UpstreamError(f"Upstream '{self.name}' sent a malformed chunk.") from exc

    def _status_error(self, reply: httpx.Response, detail: bytes) -> Exception:
        try:
            payload: Any = json.loads(detail)
        except ValueError:
            payload = {"error": {"message": detail.decode(errors="replace")[:500]}}
        message = _message_of(payload)
        status = reply.status_code
        if status >= 500 or status == 429:
            logger.warning("upstream %s at %s answered %d: %.300s", self.name, self._url, status, message)
        elif status not in (401, 403):  # a refusal of the request: its message may quote the prompt, so not logged
            logger.info("upstream %s at %s answered %d", self.name, self._url, status)
        if status in (401, 403):
            # The upstream's message names the gateway's key (masked or not): the operator's business, not the
            # caller's. A 502: the caller's request was fine, the gateway is misconfigured.
            logger.warning("upstream %s refused the gateway's credentials (%d): %s", self.name, status, message)
            return UpstreamCredentialsError(
                f"Upstream '{self.name}' refused the gateway's credentials ({status}). "
                f"The gateway's operator should check {self._credentials_hint}."
            )
        if status == 429:
            return RateLimitError(
                f"Upstream '{self.name}' rate limit reached: {message}",
                retry_after=reply.headers.get("retry-after"),
            )
        if status >= 500:
            return UpstreamError(f"Upstream '{self.name}' failed with status {status}: {message}")
        error = payload.get("error") if isinstance(payload, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if is_context_too_long(message, code):
            return ContextLengthExceededError(message)
        param = error.get("param") if isinstance(error, dict) else None
        return InvalidRequestError(
            message,
            param=param if isinstance(param, str) else None,
            code=code if isinstance(code, str) else None,
        )

    async def count_input_tokens(self, request: ModelRequest) -> int:
        """An estimate: Chat Completions has no standard count endpoint (see ``token_count``)."""
        return estimate_chat_tokens(chat_body(request, max_tokens_field=self._max_tokens_field))

    async def list_models(self, timeout: float) -> list[dict[str, Any]]:
        """The upstream's own ``GET {base_url}/models`` entries (OpenAI's list shape); raises on any failure."""
        url = self._url.copy_with(path=self._url.path.removesuffix("/chat/completions") + "/models")
        headers = httpx.Headers(self._headers)
        headers["accept"] = "application/json"
        del headers["content-type"]
        reply = await self._client.get(url, headers=headers, timeout=timeout)
        reply.raise_for_status()
        entries = reply.json().get("data")
        if not isinstance(entries, list):
            raise ValueError("no 'data' list in the reply")
        return [entry for entry in entries if isinstance(entry, dict) and isinstance(entry.get("id"), str)]


async def _error_body(reply: httpx.Response) -> bytes:
    """The start of an error reply's body, enough for its message: an upstream that streams an endless or huge
    error body gets neither the memory nor the time."""
    detail = b""
    try:
        async for part in reply.aiter_bytes():
            detail += part
            if len(detail) >= _ERROR_BODY_BYTES:
                break
    finally:
        await reply.aclose()
    return detail[:_ERROR_BODY_BYTES]


async def _drain(sse: AsyncIterator[ServerSentEvent]) -> None:
    """Read the body to its end after ``[DONE]``: only a fully read response goes back to the pool, and a
    socket closed with unread data costs a new TCP (and TLS) handshake on the next call."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for _ in sse:
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
