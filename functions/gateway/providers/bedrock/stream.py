"""ConverseStream events → neutral provider events.

Each chunk has one key. Text may arrive without a ``contentBlockStart``; tool use always starts with one.
Reasoning text is reported as it comes. Signatures and redacted bytes are kept, and once a run of reasoning
blocks ends (the next text or tool block begins, or the stream ends) they become one ``ReasoningState`` for
the one reasoning item the run forms. ``messageStop`` carries the stop reason and ``metadata`` (after it)
the usage, so ``Usage`` and ``Finish`` are reported when the stream ends. A stream that ends without
``messageStop`` was cut off and fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from gateway.domain.upstream import (
    Finish,
    FinishReason,
    ProviderEvent,
    ReasoningDelta,
    ReasoningState,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from gateway.errors import UpstreamError
from gateway.providers.bedrock import reasoning as bedrock_reasoning

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.type_defs import (
        ContentBlockDeltaEventTypeDef,
        ContentBlockStartEventTypeDef,
        ConverseStreamMetadataEventTypeDef,
        ConverseStreamOutputTypeDef,
    )

FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "max_output_tokens",
    "model_context_window_exceeded": "max_output_tokens",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
    "malformed_model_output": "stop",
    "malformed_tool_use": "stop",
}
"""Bedrock ``stopReason`` → finish reason; a reason newer than this map finishes as ``stop``."""

BlockKind = Literal["text", "tool", "output", "reasoning", "ignored"]
"""``output`` is the synthetic structured-output tool; ``ignored`` a block the caller did not ask for."""


@dataclass(slots=True)
class _ReasoningBlock:
    text: list[str] = field(default_factory=list)
    signature: str | None = None
    redacted: bytes | None = None

    def block(self) -> bedrock_reasoning.ReasoningBlock:
        return bedrock_reasoning.ReasoningBlock(
            text="".join(self.text), signature=self.signature, redacted=self.redacted
        )


class StreamTranslator:
    def __init__(self, *, output_tool: str | None = None, single_tool_call: bool = False) -> None:
        self._output_tool = output_tool
        self._single_tool_call = single_tool_call
        self._kinds: dict[int, BlockKind] = {}
        self._reasoning: dict[int, _ReasoningBlock] = {}
        self._finished_reasoning: list[bedrock_reasoning.ReasoningBlock] = []
        self._has_input: set[int] = set()
        self._tool_calls = 0
        self._answered = False
        self._stop_reason: str | None = None
        self._usage: Usage | None = None

    def feed(self, chunk: ConverseStreamOutputTypeDef) -> list[ProviderEvent]:
        match chunk:
            case {"contentBlockStart": start}:
                return self._start(start)
            case {"contentBlockDelta": delta}:
                return self._delta(delta)
            case {"contentBlockStop": stop}:
                return self._stop(stop["contentBlockIndex"])
            case {"messageStop": stop}:
                self._stop_reason = stop["stopReason"]
            case {"metadata": metadata}:
                self._usage = _usage(metadata)
            case _:
                # messageStart carries nothing; exception events are raised by botocore as EventStreamError,
                # so a key ending in "Exception" here would be one botocore does not know yet.
                if failure := next((key for key in chunk if key.endswith("Exception")), None):
                    raise UpstreamError(f"Bedrock stream failed ({failure}).")
        return []

    def finish(self) -> list[ProviderEvent]:
        if self._stop_reason is None:
            raise UpstreamError("The Bedrock stream ended before the model finished (no messageStop).")
        for index in list(self._reasoning):
            self._stop(index)
        events = self._reasoning_state()
        if self._usage is not None:
            events.append(self._usage)
        reason = FINISH_REASONS.get(self._stop_reason, "stop")
        if reason == "tool_calls" and self._tool_calls == 0:
            reason = "stop"  # only the structured-output tool was called: the answer is text
        events.append(Finish(reason))
        return events

    def _reasoning_state(self) -> list[ProviderEvent]:
        """The state of the reasoning run that just ended, if it left anything to send back."""
        blocks = [block for block in self._finished_reasoning if block.replayable]
        self._finished_reasoning = []
        return [ReasoningState(bedrock_reasoning.encode(blocks))] if blocks else []

    def _start(self, event: ContentBlockStartEventTypeDef) -> list[ProviderEvent]:
        events = self._reasoning_state()
        return events + self._start_block(event)

    def _start_block(self, event: ContentBlockStartEventTypeDef) -> list[ProviderEvent]:
        index = event["contentBlockIndex"]
        tool = event["start"].get("toolUse")
        if tool is None:
            if event["start"]:
                self._kinds[index] = "ignored"  # toolResult / image blocks come from server-side tools
            return []
        if tool.get("type") == "server_tool_use":
            self._kinds[index] = "ignored"  # the gateway offers no server-side tools
            return []
        if tool["name"] == self._output_tool:
            self._kinds[index] = "ignored" if self._answered else "output"
            self._answered = True
            return []
        if self._single_tool_call and self._tool_calls:
            self._kinds[index] = "ignored"  # parallel_tool_calls: false keeps the first call only
            return []
        self._kinds[index] = "tool"
        self._tool_calls += 1
        return [ToolCallStart(index=index, call_id=tool["toolUseId"], name=tool["name"])]

    def _delta(self, event: ContentBlockDeltaEventTypeDef) -> list[ProviderEvent]:
        kind = self._kinds.setdefault(
            event["contentBlockIndex"], "reasoning" if "reasoningContent" in event["delta"] else "text"
        )
        if kind == "reasoning":
            return self._block_delta(event, kind)
        return self._reasoning_state() + self._block_delta(event, kind)

    def _block_delta(self, event: ContentBlockDeltaEventTypeDef, kind: BlockKind) -> list[ProviderEvent]:
        index, delta = event["contentBlockIndex"], event["delta"]
        if kind == "ignored":
            return []
        if "text" in delta:
            return [TextDelta(delta["text"])] if delta["text"] else []
        if "toolUse" in delta:
            arguments = delta["toolUse"]["input"]
            if kind not in ("tool", "output"):
                raise UpstreamError("Bedrock sent tool input for a block that is not a tool call.")
            if not arguments:
                return []
            self._has_input.add(index)
            return [ToolCallDelta(index, arguments) if kind == "tool" else TextDelta(arguments)]
        if "reasoningContent" in delta:
            block = self._reasoning.setdefault(index, _ReasoningBlock())
            reasoning = delta["reasoningContent"]
            if "signature" in reasoning:
                block.signature = (block.signature or "") + reasoning["signature"]
            if "redactedContent" in reasoning:
                block.redacted = (block.redacted or b"") + reasoning["redactedContent"]
            if reasoning.get("text"):
                block.text.append(reasoning["text"])
                return [ReasoningDelta(reasoning["text"])]
        # citation, image and toolResult deltas belong to features the gateway never enables.
        return []

    def _stop(self, index: int) -> list[ProviderEvent]:
        kind = self._kinds.get(index)
        if kind == "reasoning" and (block := self._reasoning.pop(index, None)):
            self._finished_reasoning.append(block.block())
            return []
        if index in self._has_input:
            return []
        if kind == "tool":
            return [ToolCallDelta(index, "{}")]  # a call without arguments still needs a JSON object
        if kind == "output":
            return [TextDelta("{}")]
        return []


def _usage(metadata: ConverseStreamMetadataEventTypeDef) -> Usage:
    """Bedrock's ``inputTokens`` leaves out cache reads and writes; OpenAI's ``input_tokens`` includes them."""
    usage = metadata["usage"]
    read, write = usage.get("cacheReadInputTokens", 0), usage.get("cacheWriteInputTokens", 0)
    return Usage(
        input_tokens=usage["inputTokens"] + read + write,
        output_tokens=usage["outputTokens"],
        cached_tokens=read,
        cache_write_tokens=write,
    )
