"""Stream events of ``POST /v1/responses`` with ``stream: true``: one class per ``type``, as in openai-python."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gateway.schemas.base import WireModel
from gateway.schemas.items import Message, OutputText, ReasoningText, Refusal, SummaryText
from gateway.schemas.responses import Response
from gateway.schemas.tool_items import OutputItem


def _obfuscation() -> Any:
    """Random padding against length side channels; left out when the client opted out."""
    return Field(default=None, exclude_if=lambda value: value is None)


class StreamEvent(WireModel):
    type: str
    sequence_number: int


class ResponseLifecycleEvent(StreamEvent):
    type: Literal[
        "response.created",
        "response.queued",
        "response.in_progress",
        "response.completed",
        "response.incomplete",
        "response.failed",
    ]
    response: Response


class OutputItemEvent(StreamEvent):
    type: Literal["response.output_item.added", "response.output_item.done"]
    output_index: int
    item: OutputItem


class ContentPartEvent(StreamEvent):
    type: Literal["response.content_part.added", "response.content_part.done"]
    item_id: str
    output_index: int
    content_index: int
    part: OutputText | Refusal | ReasoningText


class OutputTextDeltaEvent(StreamEvent):
    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    item_id: str
    output_index: int
    content_index: int
    delta: str
    logprobs: list[dict[str, Any]] = Field(default_factory=list)
    obfuscation: str | None = _obfuscation()


class OutputTextDoneEvent(StreamEvent):
    type: Literal["response.output_text.done"] = "response.output_text.done"
    item_id: str
    output_index: int
    content_index: int
    text: str
    logprobs: list[dict[str, Any]] = Field(default_factory=list)


class RefusalDeltaEvent(StreamEvent):
    type: Literal["response.refusal.delta"] = "response.refusal.delta"
    item_id: str
    output_index: int
    content_index: int
    delta: str
    obfuscation: str | None = _obfuscation()


class RefusalDoneEvent(StreamEvent):
    type: Literal["response.refusal.done"] = "response.refusal.done"
    item_id: str
    output_index: int
    content_index: int
    refusal: str


class FunctionCallArgumentsDeltaEvent(StreamEvent):
    type: Literal["response.function_call_arguments.delta"] = "response.function_call_arguments.delta"
    item_id: str
    output_index: int
    delta: str
    obfuscation: str | None = _obfuscation()


class FunctionCallArgumentsDoneEvent(StreamEvent):
    type: Literal["response.function_call_arguments.done"] = "response.function_call_arguments.done"
    item_id: str
    output_index: int
    name: str
    arguments: str


class CustomToolCallInputDeltaEvent(StreamEvent):
    type: Literal["response.custom_tool_call_input.delta"] = "response.custom_tool_call_input.delta"
    item_id: str
    output_index: int
    delta: str


class CustomToolCallInputDoneEvent(StreamEvent):
    type: Literal["response.custom_tool_call_input.done"] = "response.custom_tool_call_input.done"
    item_id: str
    output_index: int
    input: str


class ReasoningTextDeltaEvent(StreamEvent):
    type: Literal["response.reasoning_text.delta"] = "response.reasoning_text.delta"
    item_id: str
    output_index: int
    content_index: int
    delta: str


class ReasoningTextDoneEvent(StreamEvent):
    type: Literal["response.reasoning_text.done"] = "response.reasoning_text.done"
    item_id: str
    output_index: int
    content_index: int
    text: str


class ReasoningSummaryPartEvent(StreamEvent):
    type: Literal["response.reasoning_summary_part.added", "response.reasoning_summary_part.done"]
    item_id: str
    output_index: int
    summary_index: int
    part: SummaryText


class ReasoningSummaryTextDeltaEvent(StreamEvent):
    type: Literal["response.reasoning_summary_text.delta"] = "response.reasoning_summary_text.delta"
    item_id: str
    output_index: int
    summary_index: int
    delta: str
    obfuscation: str | None = _obfuscation()


class ReasoningSummaryTextDoneEvent(StreamEvent):
    type: Literal["response.reasoning_summary_text.done"] = "response.reasoning_summary_text.done"
    item_id: str
    output_index: int
    summary_index: int
    text: str


class ErrorEvent(StreamEvent):
    """The flat ``error`` event (never an ``error`` mapping: the Python SDK raises on those)."""

    type: Literal["error"] = "error"
    code: str | None
    message: str
    param: str | None


__all__ = [
    "ContentPartEvent",
    "CustomToolCallInputDeltaEvent",
    "CustomToolCallInputDoneEvent",
    "ErrorEvent",
    "FunctionCallArgumentsDeltaEvent",
    "FunctionCallArgumentsDoneEvent",
    "Message",
    "OutputItemEvent",
    "OutputTextDeltaEvent",
    "OutputTextDoneEvent",
    "ReasoningSummaryPartEvent",
    "ReasoningSummaryTextDeltaEvent",
    "ReasoningSummaryTextDoneEvent",
    "ReasoningTextDeltaEvent",
    "ReasoningTextDoneEvent",
    "RefusalDeltaEvent",
    "RefusalDoneEvent",
    "ResponseLifecycleEvent",
    "StreamEvent",
]
