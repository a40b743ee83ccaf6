"""Chat Completions stream chunks → neutral provider events (the mapping half of ``OpenAIChatProvider``).

A chunk is validated against the typed shape below before it is read: a chunk that is JSON but not a chunk
(``null``, ``5``, a string ``delta``, a numeric ``content`` …) raises ``pydantic.ValidationError`` (a
``ValueError``), which the provider turns into a failed response at once.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from typing_extensions import TypedDict

from gateway.domain.upstream import (
    Finish,
    FinishReason,
    ProviderEvent,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "max_output_tokens",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


class _Function(TypedDict, total=False):
    name: str | None
    arguments: str | None


class _ToolCall(TypedDict, total=False):
    index: int
    id: str | None
    function: _Function | None


class _Delta(TypedDict, total=False):
    content: str | None
    refusal: str | None
    reasoning_content: str | None
    reasoning: str | None
    tool_calls: list[_ToolCall] | None


class _Choice(TypedDict, total=False):
    index: int
    delta: _Delta | None
    finish_reason: str | None


class _Details(TypedDict, total=False):
    cached_tokens: int | None
    reasoning_tokens: int | None


class _Usage(TypedDict, total=False):
    prompt_tokens: int | None
    completion_tokens: int | None
    prompt_tokens_details: _Details | None
    completion_tokens_details: _Details | None


class Chunk(TypedDict, total=False):
    choices: list[_Choice] | None
    usage: _Usage | None


_CHUNK: TypeAdapter[Chunk] = TypeAdapter(Chunk)


def chunk_events(raw: Any, started: set[int]) -> list[ProviderEvent]:
    """The events of one parsed chunk; ``started`` holds the tool-call indexes already announced."""
    chunk = _CHUNK.validate_python(raw)
    events: list[ProviderEvent] = []
    for choice in chunk.get("choices") or ():
        if choice.get("index", 0) != 0:
            continue
        delta: _Delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            events.append(ReasoningDelta(reasoning))
        if content := delta.get("content"):
            events.append(TextDelta(content))
        if refusal := delta.get("refusal"):
            events.append(RefusalDelta(refusal))
        for call in delta.get("tool_calls") or ():
            index = call.get("index", 0)
            function: _Function = call.get("function") or {}
            if index not in started:
                started.add(index)
                events.append(ToolCallStart(index, call.get("id") or f"call_{index}", function.get("name") or ""))
            if arguments := function.get("arguments"):
                events.append(ToolCallDelta(index, arguments))
        if finish := choice.get("finish_reason"):
            events.append(Finish(FINISH_REASONS.get(finish, "stop")))
    if usage := chunk.get("usage"):
        events.append(usage_of(usage))
    return events


def usage_of(usage: _Usage) -> Usage:
    prompt_details: _Details = usage.get("prompt_tokens_details") or {}
    completion_details: _Details = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        cached_tokens=prompt_details.get("cached_tokens") or 0,
        reasoning_tokens=completion_details.get("reasoning_tokens") or 0,
    )
