"""The ``Provider`` port (what the engine asks of an upstream) and the neutral events every adapter yields.

An adapter translates a ``ModelRequest`` (Responses-shaped context and options) into its upstream's request,
and the upstream's stream back into ``ProviderEvent``s. ``ResponseBuilder`` turns those into Responses events,
so no adapter knows about SSE, sequence numbers or output indexes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from gateway.domain.tools import ToolSet
from gateway.domain.transcript import UpstreamItem
from gateway.schemas.requests import ResponseCreateParams


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """What a provider needs for one model call: the resolved context and the caller's options."""

    model: str
    """The model name with the routing prefix removed (e.g. ``gpt-4o`` for ``openai/gpt-4o``)."""
    instructions: str | None
    items: list[UpstreamItem]
    """The whole context, oldest first: inherited turns, then this request's input, every tool call a function
    call (``domain/transcript.py``)."""
    params: ResponseCreateParams
    """The validated request, for options (temperature, text.format, ...)."""
    tools: ToolSet = field(default_factory=ToolSet)
    """The tools offered this turn as functions, and the tool choice (not ``params.tools``)."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class RefusalDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStart:
    """A new function call. ``index`` tells parallel calls apart; later deltas name the same index."""

    index: int
    call_id: str
    name: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    index: int
    arguments: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """Reasoning text the model shows: the reasoning item's ``content`` on the Responses side (not a summary)."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningState:
    """Opaque reasoning state (a signature, redacted content) to send back unchanged next turn."""

    encrypted_content: str


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


FinishReason = Literal["stop", "tool_calls", "max_output_tokens", "content_filter"]


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason


ProviderEvent = (
    TextDelta | RefusalDelta | ToolCallStart | ToolCallDelta | ReasoningDelta | ReasoningState | Usage | Finish
)


class Provider(Protocol):
    """One upstream API. ``open`` starts the call and raises client errors (4xx, 429) before any event."""

    name: str

    def open(self, request: ModelRequest) -> AbstractAsyncContextManager[AsyncIterator[ProviderEvent]]:
        """``async with provider.open(request) as events``: entered once the upstream has accepted the request
        (status known, body not yet read); the events may raise ``UpstreamError`` mid-way; leaving the block,
        however it is left, ends the upstream call."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...


@runtime_checkable
class TokenCounter(Protocol):
    """A provider that can count (or estimate) the input tokens of a request."""

    async def count_input_tokens(self, request: ModelRequest) -> int: ...


class ProviderResolver(Protocol):
    """Model name -> the provider that serves it (``providers/registry.py``)."""

    def resolve(self, model: str) -> tuple[Provider, str]:
        """The provider for ``model`` and the model name to send it."""
        ...

    async def aclose(self) -> None:
        """Release every provider's connections."""
        ...
