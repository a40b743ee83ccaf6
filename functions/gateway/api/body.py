"""Request bodies: size-limited, and decompressed (``Content-Encoding`` zstd, gzip, deflate) before routes read them.

Codex CLI sends its request bodies zstd-compressed. ``BodyMiddleware`` wraps ``receive`` so every route that
reads a body gets the plain bytes, whatever it is, without having to remember to. The work is lazy: it happens
when the route first reads the body, so a refusal is a ``GatewayError`` raised inside the route and rendered as
OpenAI's envelope like any other, and a GET costs one method check.

The limit (``RESPONSES_MAX_BODY_BYTES``) is on the *decompressed* bytes, and decompression is incremental with
bounded output (``max_length``), so a small zip bomb is a 413 after at most ``limit + 1`` bytes of output, never
an out-of-memory kill.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from gateway.errors import GatewayError, InvalidRequestError
from gateway.settings import get_settings

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NO_BODY = frozenset({"GET", "HEAD", "OPTIONS"})
_CODINGS = frozenset({"zstd", "gzip", "deflate"})
_GZIP, _ZLIB, _RAW_DEFLATE = 31, 15, -15
"""``wbits`` for zlib: gzip framing, zlib framing (RFC 1950, HTTP's ``deflate``), bare deflate (RFC 1951)."""


class BodyTooLargeError(GatewayError):
    status_code = 413

    def __init__(self, limit: int, compressed: bool) -> None:
        after = " after decompression" if compressed else ""
        super().__init__(
            f"Request body too large: the limit is {limit} bytes{after} (RESPONSES_MAX_BODY_BYTES).",
            code="request_too_large",
        )


class UnsupportedEncodingError(GatewayError):
    status_code = 415

    def __init__(self, encoding: str) -> None:
        super().__init__(
            f"Unsupported Content-Encoding '{encoding}': send the body plain, or compressed with one of "
            "zstd, gzip or deflate.",
            code="unsupported_content_encoding",
        )


def _corrupt(encoding: str, detail: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"The request body could not be decompressed (Content-Encoding: {encoding}): {detail}.",
        code="invalid_body",
    )


class _Stream(Protocol):
    """What zlib's and zstd's decompressor objects have in common."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def _zstd_stream() -> _Stream:
    # Imported on the first zstd body only: about 5 ms of a cold start that most requests never need.
    if sys.version_info >= (3, 14):
        from compression.zstd import ZstdDecompressor
    else:
        from backports.zstd import ZstdDecompressor
    return ZstdDecompressor()


def _zstd_error() -> type[Exception]:
    if sys.version_info >= (3, 14):
        from compression.zstd import ZstdError
    else:
        from backports.zstd import ZstdError
    return ZstdError


class _Decoder:
    """One coding's decompressor, fed chunk by chunk, refusing output past ``limit``.

    Each call asks for at most one byte more than the room left, so reaching that byte means the body is too
    large, and not reaching it means no output is left pending inside the decompressor. Concatenated frames
    (zstd) and members (gzip) are each decoded in turn, as their formats allow.
    """

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding
        self._limit = limit
        self._stream: _Stream | None = None
        self._errors: tuple[type[Exception], ...] = (zlib.error,)
        self.output = bytearray()

    def _new_stream(self, first: bytes) -> _Stream:
        if self.encoding == "zstd":
            self._errors = (_zstd_error(),)
            return _zstd_stream()
        if self.encoding == "gzip":
            return zlib.decompressobj(_GZIP)
        # HTTP's deflate is zlib-framed, but some clients send bare deflate: tell them apart by the zlib header.
        framed = len(first) >= 2 and first[0] & 0x0F == 8 and int.from_bytes(first[:2], "big") % 31 == 0
        return zlib.decompressobj(_ZLIB if framed else _RAW_DEFLATE)

    def feed(self, data: bytes) -> None:
        try:
            while data:
                if self._stream is None:
                    self._stream = self._new_stream(data)
                self.output += self._stream.decompress(data, self._limit - len(self.output) + 1)
                if len(self.output) > self._limit:
                    raise BodyTooLargeError(self._limit, compressed=True)
                data = b""
                if self._stream.eof:
                    data, self._stream = self._stream.unused_data, None
        except self._errors as exc:
            raise _corrupt(self.encoding, str(exc) or type(exc).__name__) from None

    def finish(self) -> bytes:
        if self._stream is not None and not self._stream.eof:
            raise _corrupt(self.encoding, "the compressed data ends early")
        return bytes(self.output)


class _Body:
    """The ``receive`` a route sees: the whole body in one message, then the server's own messages."""

    def __init__(self, receive: Receive, encoding: str, declared: int | None, limit: Callable[[], int]) -> None:
        self._receive = receive
        self._encoding = encoding
        self._declared = declared
        self._limit = limit
        self._delivered = False

    async def __call__(self) -> Message:
        if self._delivered:
            return await self._receive()  # http.disconnect, which a streaming response watches for
        # Read now, not when the middleware wrapped ``receive``: routes authorize (building the services, and the
        # settings, in a thread) before reading the body, so the first request never builds them on the loop.
        limit = self._limit()
        compressed = bool(self._encoding)
        if compressed and self._encoding not in _CODINGS:
            raise UnsupportedEncodingError(self._encoding)
        # Compressed bytes are bounded too (a stream of empty frames costs CPU, not memory): incompressible data
        # grows by its framing only, a few bytes per block, which the slack covers.
        sent_limit = limit + limit // 256 + 1024 if compressed else limit
        if self._declared is not None and self._declared > sent_limit:
            raise BodyTooLargeError(limit, compressed)
        decoder = _Decoder(self._encoding, limit) if compressed else None
        chunks: list[bytes] = []
        sent = 0
        more = True
        while more:
            message = await self._receive()
            if message["type"] != "http.request":
                return message
            chunk: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            sent += len(chunk)
            if sent > sent_limit:
                raise BodyTooLargeError(limit, compressed)
            if decoder is not None:
                decoder.feed(chunk)
            else:
                chunks.append(chunk)
        self._delivered = True
        body = decoder.finish() if decoder is not None else b"".join(chunks)
        return {"type": "http.request", "body": body, "more_body": False}


class BodyMiddleware:
    """Pure ASGI: wraps ``receive`` of every request that may carry a body."""

    def __init__(self, app: ASGIApp, limit: Callable[[Scope], int] | None = None) -> None:
        self.app = app
        self._limit = limit or _settings_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _NO_BODY:
            await self.app(scope, receive, send)
            return
        encoding, declared = "", None
        for name, value in scope["headers"]:
            if name == b"content-encoding":
                encoding = _coding(value.decode("latin-1"))
            elif name == b"content-length" and value.isdigit():
                declared = int(value)
        await self.app(scope, _Body(receive, encoding, declared, lambda: self._limit(scope)), send)


def _coding(header: str) -> str:
    """The coding to undo, ``""`` for none. One outside ``_CODINGS`` (a list of codings included) is refused
    when the route reads the body, where the refusal gets the error handlers' envelope."""
    coding = header.strip().lower()
    if coding in ("", "identity"):
        return ""
    if coding == "x-gzip":  # RFC 9110 §8.4.1.3: the same as gzip
        return "gzip"
    return coding


def _settings_limit(scope: Scope) -> int:
    services = scope["app"].state.services
    return int((services.settings if services is not None else get_settings()).max_body_bytes)
