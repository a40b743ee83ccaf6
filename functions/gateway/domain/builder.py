"""Fold neutral provider events into Responses stream events and, at the end, the final ``Response``.

The same builder serves every mode: its events go out as SSE (``stream: true``), are persisted for replay
(background), or are discarded while only the final state is kept (buffered; ``emit=False`` skips building
them). The final ``Response`` is the builder's state, so the three modes cannot drift apart.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, assert_never

from gateway.domain.calls import ID_PREFIX, CallItem, call_item, custom_input
from gateway.domain.disclosure import HIDDEN, Disclosure
from gateway.domain.ids import new_id, now
from gateway.domain.tools import ToolSet, UpstreamTool
from gateway.providers.base import (
    Finish,
    FinishReason,
    ProviderEvent,
    ReasoningDelta,
    ReasoningState,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from gateway.schemas.events import (
    ContentPartEvent,
    CustomToolCallInputDeltaEvent,
    CustomToolCallInputDoneEvent,
    FunctionCallArgumentsDeltaEvent,
    FunctionCallArgumentsDoneEvent,
    OutputItemEvent,
    OutputTextDeltaEvent,
    OutputTextDoneEvent,
    ReasoningTextDeltaEvent,
    ReasoningTextDoneEvent,
    RefusalDeltaEvent,
    RefusalDoneEvent,
    ResponseLifecycleEvent,
    StreamEvent,
)
from gateway.schemas.items import FunctionCall, Message, OutputText, Reasoning, ReasoningText, Refusal
from gateway.schemas.responses import (
    IncompleteDetails,
    InputTokensDetails,
    OutputTokensDetails,
    Response,
    ResponseError,
    ResponseUsage,
)
from gateway.schemas.tool_items import CustomToolCall, OutputItem

ItemState = Literal["completed", "incomplete"]
PartKind = Literal["text", "refusal"]


@dataclass(slots=True)
class _OpenMessage:
    index: int
    id: str
    parts: list[OutputText | Refusal] = field(default_factory=list)
    kind: PartKind | None = None
    chunks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _OpenCall:
    index: int
    id: str
    call_id: str
    name: str
    tool: UpstreamTool | None
    """What the upstream function stands for; None for a name the request never declared."""
    chunks: list[str] = field(default_factory=list)
    announced: bool = True
    """``output_item.added`` was sent (built-ins announce themselves only once their arguments are complete)."""
    sent_input: str = ""
    """The custom tool input streamed so far."""

    @property
    def kind(self) -> str:
        return self.tool.kind if self.tool is not None else "function"


@dataclass(slots=True)
class _OpenReasoning:
    index: int
    id: str
    chunks: list[str] = field(default_factory=list)
    has_text: bool = False
    encrypted_content: str | None = None


def _padding(delta: str) -> str:
    """Random characters that round a delta's length up to a multiple of 16 (length side channel)."""
    return secrets.token_urlsafe(12)[: 16 - len(delta) % 16]


class ResponseBuilder:
    """One response's output under construction. Methods return the stream events they caused, in order."""

    def __init__(
        self,
        shell: Response,
        thread: str,
        *,
        tools: ToolSet | None = None,
        emit: bool = True,
        obfuscate: bool = True,
        disclosure: Disclosure = HIDDEN,
    ) -> None:
        self._shell = shell
        self._thread = thread
        self._tools = tools or ToolSet()
        self._emit = emit
        self._obfuscate = obfuscate and emit
        self._disclosure = disclosure
        self._seq = 0
        self._events: list[StreamEvent] = []
        self._output: list[OutputItem | None] = []
        self._message: _OpenMessage | None = None
        self._reasoning: _OpenReasoning | None = None
        self._calls: dict[int, _OpenCall] = {}
        self._usage: Usage | None = None
        self._finish: FinishReason | None = None
        self._final: Response | None = None

    @property
    def sequence_number(self) -> int:
        """The number the next event will carry."""
        return self._seq

    # lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> list[StreamEvent]:
        """``response.created`` (and ``response.queued`` for a queued background response)."""
        self._lifecycle("response.created", self._shell)
        if self._shell.status == "queued":
            self._lifecycle("response.queued", self._shell)
        return self._flush()

    def begin(self) -> list[StreamEvent]:
        """``response.in_progress``: the model call is under way."""
        self._shell = self._shell.model_copy(update={"status": "in_progress"})
        self._lifecycle("response.in_progress", self._shell)
        return self._flush()

    def feed(self, event: ProviderEvent) -> list[StreamEvent]:
        match event:
            case TextDelta(text=text):
                self._text("text", text)
            case RefusalDelta(text=text):
                self._text("refusal", text)
            case ToolCallStart():
                self._close_message("completed")
                self._close_reasoning()
                self._open_call(event.index, event.call_id, event.name)
            case ToolCallDelta():
                self._call_delta(event.index, event.arguments)
            case ReasoningDelta(text=text):
                self._reasoning_delta(text)
            case ReasoningState(encrypted_content=state):
                self._open_reasoning().encrypted_content = state
            case Usage():
                self._usage = event
            case Finish(reason=reason):
                self._finish = reason
            case _:
                assert_never(event)
        return self._flush()

    def finish(self) -> list[StreamEvent]:
        """Close what is open and end with ``response.completed`` or ``response.incomplete``."""
        reason = self._finish
        cut = reason in ("max_output_tokens", "content_filter")
        self._close_all("incomplete" if cut else "completed")
        if reason == "max_output_tokens" or reason == "content_filter":
            final = self._result("incomplete", incomplete=IncompleteDetails(reason=reason))
            self._lifecycle("response.incomplete", final)
        else:
            final = self._result("completed", completed_at=now())
            self._lifecycle("response.completed", final)
        return self._flush()

    def fail(self, code: str, message: str) -> list[StreamEvent]:
        """End with ``response.failed``; what was produced so far stays, marked incomplete."""
        self._close_all("incomplete")
        final = self._result("failed", error=ResponseError(code=code, message=message))
        self._lifecycle("response.failed", final)
        return self._flush()

    def cancel(self) -> Response:
        """The response as cancelled, keeping its partial output (no event: the stream just ends)."""
        self._close_all("incomplete")
        return self._result("cancelled")

    @property
    def response(self) -> Response:
        """The final response with private state (reasoning signatures) kept: what is stored."""
        if self._final is None:
            raise RuntimeError("the response has not finished")
        return self._final

    # output text and refusals ----------------------------------------------------------------------------

    def _text(self, kind: PartKind, delta: str) -> None:
        if not delta:
            return
        if self._reasoning is not None:
            self._close_reasoning()
        if self._calls:
            self._close_calls("completed")
        message = self._message or self._open_message()
        if message.kind != kind:
            self._close_part(message)
            self._open_part(message, kind)
        message.chunks.append(delta)
        if not self._emit:
            return
        content_index = len(message.parts)
        pad = _padding(delta) if self._obfuscate else None
        if kind == "text":
            self._push(
                OutputTextDeltaEvent.model_construct(
                    sequence_number=self._next(),
                    item_id=message.id,
                    output_index=message.index,
                    content_index=content_index,
                    delta=delta,
                    logprobs=[],
                    obfuscation=pad,
                )
            )
        else:
            self._push(
                RefusalDeltaEvent.model_construct(
                    sequence_number=self._next(),
                    item_id=message.id,
                    output_index=message.index,
                    content_index=content_index,
                    delta=delta,
                    obfuscation=pad,
                )
            )

    def _open_message(self) -> _OpenMessage:
        message = _OpenMessage(index=len(self._output), id=new_id("msg", self._thread))
        self._output.append(None)
        self._message = message
        item = Message(id=message.id, role="assistant", status="in_progress", content=[])
        self._item_event("response.output_item.added", message.index, item)
        return message

    def _open_part(self, message: _OpenMessage, kind: PartKind) -> None:
        message.kind = kind
        message.chunks = []
        part: OutputText | Refusal = OutputText(text="") if kind == "text" else Refusal(refusal="")
        self._part_event("response.content_part.added", message, part)

    def _close_part(self, message: _OpenMessage) -> None:
        if message.kind is None:
            return
        text = "".join(message.chunks)
        content_index = len(message.parts)
        part: OutputText | Refusal
        if message.kind == "text":
            part = OutputText(text=text)
            self._push_lazy(
                lambda: OutputTextDoneEvent(
                    sequence_number=self._next(),
                    item_id=message.id,
                    output_index=message.index,
                    content_index=content_index,
                    text=text,
                )
            )
        else:
            part = Refusal(refusal=text)
            self._push_lazy(
                lambda: RefusalDoneEvent(
                    sequence_number=self._next(),
                    item_id=message.id,
                    output_index=message.index,
                    content_index=content_index,
                    refusal=text,
                )
            )
        self._part_event("response.content_part.done", message, part)
        message.parts.append(part)
        message.kind = None

    def _close_message(self, state: ItemState) -> None:
        message = self._message
        if message is None:
            return
        self._close_part(message)
        item = Message(id=message.id, role="assistant", status=state, content=list(message.parts))
        self._output[message.index] = item
        self._item_event("response.output_item.done", message.index, item)
        self._message = None

    # tool calls ----------------------------------------------------------------------------------------

    def _open_call(self, index: int, call_id: str, name: str) -> _OpenCall:
        tool = self._tools.lookup(name)
        kind = tool.kind if tool is not None else "function"
        call = _OpenCall(
            index=len(self._output),
            id=new_id(ID_PREFIX[kind], self._thread),
            call_id=call_id,
            name=name,
            tool=tool,
            announced=kind in ("function", "custom"),
        )
        self._output.append(None)
        self._calls[index] = call
        if call.announced:
            self._item_event("response.output_item.added", call.index, self._call_item(call, "", "in_progress"))
        return call

    def _call_item(self, call: _OpenCall, arguments: str, state: ItemState | Literal["in_progress"]) -> CallItem:
        if call.kind == "custom":
            text = call.sent_input if state == "in_progress" else custom_input(arguments, partial=False)
            assert call.tool is not None
            return CustomToolCall(
                id=call.id, call_id=call.call_id, name=call.tool.client_name, input=text, namespace=call.tool.namespace
            )
        return call_item(call.tool, call.id, call.call_id, call.name, arguments, state)

    def _call_delta(self, index: int, delta: str) -> None:
        call = self._calls.get(index)
        if call is None:
            self._close_message("completed")
            self._close_reasoning()
            call = self._open_call(index, new_id("call", self._thread), "")
        if not delta:
            return
        call.chunks.append(delta)
        if not self._emit:
            return
        if call.kind == "function":
            self._push(
                FunctionCallArgumentsDeltaEvent.model_construct(
                    sequence_number=self._next(),
                    item_id=call.id,
                    output_index=call.index,
                    delta=delta,
                    obfuscation=_padding(delta) if self._obfuscate else None,
                )
            )
        elif call.kind == "custom":
            self._custom_delta(call, custom_input("".join(call.chunks), partial=True))

    def _custom_delta(self, call: _OpenCall, text: str) -> None:
        """Stream the new end of the decoded input; a partial decode that is not an extension waits for the end."""
        if len(text) <= len(call.sent_input) or not text.startswith(call.sent_input):
            return
        self._push(
            CustomToolCallInputDeltaEvent(
                sequence_number=self._next(),
                item_id=call.id,
                output_index=call.index,
                delta=text[len(call.sent_input) :],
            )
        )
        call.sent_input = text

    def _close_calls(self, state: ItemState) -> None:
        for call in sorted(self._calls.values(), key=lambda open_call: open_call.index):
            arguments = "".join(call.chunks)
            item = self._call_item(call, arguments, state)
            if not call.announced:
                self._item_event("response.output_item.added", call.index, item)
            if self._emit and isinstance(item, FunctionCall):
                self._push(
                    FunctionCallArgumentsDoneEvent(
                        sequence_number=self._next(),
                        item_id=call.id,
                        output_index=call.index,
                        name=item.name,
                        arguments=arguments,
                    )
                )
            elif self._emit and isinstance(item, CustomToolCall):
                self._custom_delta(call, item.input)
                self._push(
                    CustomToolCallInputDoneEvent(
                        sequence_number=self._next(), item_id=call.id, output_index=call.index, input=item.input
                    )
                )
            self._output[call.index] = item
            self._item_event("response.output_item.done", call.index, item)
        self._calls.clear()

    # reasoning -----------------------------------------------------------------------------------------

    def _open_reasoning(self) -> _OpenReasoning:
        if self._reasoning is not None:
            return self._reasoning
        self._close_message("completed")
        self._close_calls("completed")
        reasoning = _OpenReasoning(index=len(self._output), id=new_id("rs", self._thread))
        self._output.append(None)
        self._reasoning = reasoning
        item = Reasoning(id=reasoning.id, status="in_progress")
        self._item_event("response.output_item.added", reasoning.index, item)
        return reasoning

    def _reasoning_delta(self, delta: str) -> None:
        if not delta:
            return
        reasoning = self._open_reasoning()
        if not reasoning.has_text:
            reasoning.has_text = True
            self._reasoning_part_event("response.content_part.added", reasoning, "")
        reasoning.chunks.append(delta)
        if self._emit:
            self._push(
                ReasoningTextDeltaEvent.model_construct(
                    sequence_number=self._next(),
                    item_id=reasoning.id,
                    output_index=reasoning.index,
                    content_index=0,
                    delta=delta,
                )
            )

    def _close_reasoning(self, state: ItemState = "completed") -> None:
        reasoning = self._reasoning
        if reasoning is None:
            return
        content: list[ReasoningText] | None = None
        if reasoning.has_text:
            text = "".join(reasoning.chunks)
            self._push_lazy(
                lambda: ReasoningTextDoneEvent(
                    sequence_number=self._next(),
                    item_id=reasoning.id,
                    output_index=reasoning.index,
                    content_index=0,
                    text=text,
                )
            )
            self._reasoning_part_event("response.content_part.done", reasoning, text)
            content = [ReasoningText(text=text)]
        item = Reasoning(id=reasoning.id, content=content, encrypted_content=reasoning.encrypted_content, status=state)
        self._output[reasoning.index] = item
        self._item_event("response.output_item.done", reasoning.index, item)
        self._reasoning = None

    # assembly --------------------------------------------------------------------------------------------

    def _close_all(self, state: ItemState) -> None:
        self._close_reasoning(state)
        self._close_message(state)
        self._close_calls(state)

    def _result(
        self,
        status: Literal["completed", "incomplete", "failed", "cancelled"],
        *,
        completed_at: int | None = None,
        incomplete: IncompleteDetails | None = None,
        error: ResponseError | None = None,
    ) -> Response:
        usage = self._usage or Usage(input_tokens=0, output_tokens=0)
        self._final = self._shell.model_copy(
            update={
                "status": status,
                "completed_at": completed_at,
                "incomplete_details": incomplete,
                "error": error,
                "output": [item for item in self._output if item is not None],
                "usage": ResponseUsage(
                    input_tokens=usage.input_tokens,
                    input_tokens_details=InputTokensDetails(
                        cached_tokens=usage.cached_tokens, cache_write_tokens=usage.cache_write_tokens
                    ),
                    output_tokens=usage.output_tokens,
                    output_tokens_details=OutputTokensDetails(reasoning_tokens=usage.reasoning_tokens),
                    total_tokens=usage.input_tokens + usage.output_tokens,
                ),
            }
        )
        return self._final

    # events ----------------------------------------------------------------------------------------------

    def _next(self) -> int:
        number = self._seq
        self._seq += 1
        return number

    def _push(self, event: StreamEvent) -> None:
        self._events.append(event)

    def _push_lazy(self, make: Callable[[], StreamEvent]) -> None:
        if self._emit:
            self._events.append(make())

    def _flush(self) -> list[StreamEvent]:
        events, self._events = self._events, []
        return events

    def _lifecycle(self, kind: str, response: Response) -> None:
        if self._emit:
            self._push(
                ResponseLifecycleEvent(
                    type=kind,
                    sequence_number=self._next(),
                    response=self._disclosure.response(response),
                )
            )

    def _item_event(self, kind: str, index: int, item: OutputItem) -> None:
        if self._emit:
            item = self._disclosure.item(item)
            self._push(OutputItemEvent(type=kind, sequence_number=self._next(), output_index=index, item=item))

    def _part_event(self, kind: str, message: _OpenMessage, part: OutputText | Refusal) -> None:
        if self._emit:
            self._push(
                ContentPartEvent(
                    type=kind,
                    sequence_number=self._next(),
                    item_id=message.id,
                    output_index=message.index,
                    content_index=len(message.parts),
                    part=part,
                )
            )

    def _reasoning_part_event(self, kind: str, reasoning: _OpenReasoning, text: str) -> None:
        if self._emit:
            self._push(
                ContentPartEvent(
                    type=kind,
                    sequence_number=self._next(),
                    item_id=reasoning.id,
                    output_index=reasoning.index,
                    content_index=0,
                    part=ReasoningText(text=text),
                )
            )


def public_view(response: Response, *, reveal: bool = False, disclosure: Disclosure | None = None) -> Response:
    """The response as a client sees it: reasoning state only with ``include: reasoning.encrypted_content``,
    and then sealed (``disclosure``); ``reveal=False`` alone hides it."""
    if disclosure is None:
        if reveal:
            raise ValueError("revealing reasoning state needs a disclosure that seals it")
        disclosure = HIDDEN
    return disclosure.response(response)
