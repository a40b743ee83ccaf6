"""The tool calls being written, by the kind of tool each calls (``domain/tools.py``, ``domain/calls.py``).

    function     output_item.added ─► function_call_arguments.delta … ─► .done ─► output_item.done
    custom       output_item.added ─► custom_tool_call_input.delta … ─► .done ─► output_item.done
    built-ins    output_item.added and output_item.done together, once the arguments are complete
                 (a half-written shell action or patch operation is not an item a client can use)

Parallel calls are told apart by the upstream's call index, and all close together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gateway.domain.calls import ID_PREFIX, CallItem, call_item, custom_input
from gateway.domain.emitter import Emitter, Output
from gateway.domain.ids import new_id
from gateway.domain.tools import ToolSet, UpstreamTool
from gateway.schemas.events import (
    CustomToolCallInputDeltaEvent,
    CustomToolCallInputDoneEvent,
    FunctionCallArgumentsDeltaEvent,
    FunctionCallArgumentsDoneEvent,
)
from gateway.schemas.items import FunctionCall, ItemStatus
from gateway.schemas.tool_items import CustomToolCall


@dataclass(slots=True)
class _OpenCall:
    index: int
    id: str
    call_id: str
    name: str
    tool: UpstreamTool | None
    """What the upstream function stands for; None for a name the request never declared."""
    chunks: list[str] = field(default_factory=list)
    sent_input: str = ""
    """The custom tool input streamed so far."""

    @property
    def kind(self) -> str:
        return self.tool.kind if self.tool is not None else "function"

    @property
    def announced_at_start(self) -> bool:
        return self.kind in ("function", "custom")


class CallWriter:
    def __init__(self, events: Emitter, output: Output, thread: str, tools: ToolSet) -> None:
        self._events = events
        self._output = output
        self._thread = thread
        self._tools = tools
        self._open: dict[int, _OpenCall] = {}

    @property
    def active(self) -> bool:
        return bool(self._open)

    def knows(self, index: int) -> bool:
        return index in self._open

    def start(self, index: int, call_id: str, name: str) -> None:
        tool = self._tools.lookup(name)
        kind = tool.kind if tool is not None else "function"
        call = _OpenCall(self._output.reserve(), new_id(ID_PREFIX[kind], self._thread), call_id, name, tool)
        self._open[index] = call
        if call.announced_at_start:
            self._events.item("response.output_item.added", call.index, self._item(call, "", "in_progress"))

    def write(self, index: int, delta: str) -> None:
        """Arguments of call ``index``; a call the upstream never started opens nameless."""
        if index not in self._open:
            self.start(index, new_id("call", self._thread), "")
        call = self._open[index]
        if not delta:
            return
        call.chunks.append(delta)
        if call.kind == "function":
            self._events.push(
                FunctionCallArgumentsDeltaEvent.model_construct(
                    sequence_number=self._events.next(),
                    item_id=call.id,
                    output_index=call.index,
                    delta=delta,
                    obfuscation=self._events.padding(delta),
                )
            )
        elif call.kind == "custom":
            self._input_delta(call, custom_input("".join(call.chunks), partial=True))

    def snapshot(self) -> dict[int, CallItem]:
        """The open calls as they stand: arguments (or custom input) so far. A built-in is shown once complete."""
        shown: dict[int, CallItem] = {}
        for call in self._open.values():
            if call.kind == "custom":
                assert call.tool is not None
                shown[call.index] = CustomToolCall(
                    id=call.id,
                    call_id=call.call_id,
                    name=call.tool.client_name,
                    input=call.sent_input,
                    namespace=call.tool.namespace,
                )
            elif call.announced_at_start:
                shown[call.index] = self._item(call, "".join(call.chunks), "in_progress")
        return shown

    def close(self, state: ItemStatus) -> None:
        for call in sorted(self._open.values(), key=lambda open_call: open_call.index):
            arguments = "".join(call.chunks)
            item = self._item(call, arguments, state)
            if not call.announced_at_start:
                self._events.item("response.output_item.added", call.index, item)
            if isinstance(item, FunctionCall):
                self._events.push(
                    FunctionCallArgumentsDoneEvent(
                        sequence_number=self._events.next(),
                        item_id=call.id,
                        output_index=call.index,
                        name=item.name,
                        arguments=arguments,
                    )
                )
            elif isinstance(item, CustomToolCall):
                self._input_delta(call, item.input)
                self._events.push(
                    CustomToolCallInputDoneEvent(
                        sequence_number=self._events.next(), item_id=call.id, output_index=call.index, input=item.input
                    )
                )
            self._output.fill(call.index, item)
            self._events.item("response.output_item.done", call.index, item)
        self._open.clear()

    def _item(self, call: _OpenCall, arguments: str, state: ItemStatus | Literal["in_progress"]) -> CallItem:
        if call.kind == "custom" and state == "in_progress":
            assert call.tool is not None
            return CustomToolCall(
                id=call.id, call_id=call.call_id, name=call.tool.client_name, input="", namespace=call.tool.namespace
            )
        return call_item(call.tool, call.id, call.call_id, call.name, arguments, state)

    def _input_delta(self, call: _OpenCall, text: str) -> None:
        """Stream the new end of the decoded input; a partial decode that is not an extension waits for the end."""
        if len(text) <= len(call.sent_input) or not text.startswith(call.sent_input):
            return
        self._events.push(
            CustomToolCallInputDeltaEvent(
                sequence_number=self._events.next(),
                item_id=call.id,
                output_index=call.index,
                delta=text[len(call.sent_input) :],
            )
        )
        call.sent_input = text
