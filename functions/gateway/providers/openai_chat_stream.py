"""Chat Completions stream chunks → neutral provider events (the mapping half of ``OpenAIChatProvider``)."""

from __future__ import annotations

from typing import Any

from gateway.providers.base import (
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


def chunk_events(chunk: dict[str, Any], started: set[int]) -> list[ProviderEvent]:
    events: list[ProviderEvent] = []
    for choice in chunk.get("choices") or ():
        if choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            events.append(ReasoningDelta(reasoning))
        if delta.get("content"):
            events.append(TextDelta(delta["content"]))
        if delta.get("refusal"):
            events.append(RefusalDelta(delta["refusal"]))
        for call in delta.get("tool_calls") or ():
            index = call.get("index", 0)
            function = call.get("function") or {}
            if index not in started:
                started.add(index)
                events.append(ToolCallStart(index, call.get("id") or f"call_{index}", function.get("name") or ""))
            if function.get("arguments"):
                events.append(ToolCallDelta(index, function["arguments"]))
        if choice.get("finish_reason"):
            events.append(Finish(FINISH_REASONS.get(choice["finish_reason"], "stop")))
    usage = chunk.get("usage")
    if usage:
        events.append(usage_of(usage))
    return events


def usage_of(usage: dict[str, Any]) -> Usage:
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=usage.get("prompt_tokens") or 0,
        output_tokens=usage.get("completion_tokens") or 0,
        cached_tokens=prompt_details.get("cached_tokens") or 0,
        reasoning_tokens=completion_details.get("reasoning_tokens") or 0,
    )
