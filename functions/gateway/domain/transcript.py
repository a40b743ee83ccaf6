"""The context as an upstream sees it: every kind of tool call a function call, every result a function output.

Providers translate four item types (messages, function calls and outputs, reasoning); everything else is
folded into them here, once, for both providers:

| context item | upstream item |
|---|---|
| ``function_call`` (with ``namespace``) | function call under the flattened name (``domain/tools.py``) |
| ``custom_tool_call`` | function call with ``{"input": <raw text>}`` |
| ``local_shell_call`` / ``shell_call`` / ``apply_patch_call`` | function call with the action as arguments |
| any ``…_output`` | function output (shell results as text: exit code, stdout, stderr) |
| ``tool_search_*``, ``additional_tools``, hosted-tool history | nothing: the upstream cannot act on them |
| ``compaction`` | its summary as a user message, expanded before this (``domain/compaction.py``) |
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, assert_never

from gateway.domain.tools import upstream_name
from gateway.errors import InvalidRequestError
from gateway.schemas.items import FunctionCall, FunctionCallOutput, Message, Reasoning
from gateway.schemas.tool_items import (
    AdditionalTools,
    ApplyPatchCall,
    ApplyPatchCallOutput,
    Compaction,
    ContextItem,
    CustomToolCall,
    CustomToolCallOutput,
    HostedToolHistory,
    LocalShellCall,
    LocalShellCallOutput,
    ShellCall,
    ShellCallOutput,
    ToolSearchCall,
    ToolSearchOutput,
)

UpstreamItem = Message | FunctionCall | FunctionCallOutput | Reasoning


def to_upstream(items: Iterable[ContextItem]) -> list[UpstreamItem]:
    return [converted for item in items if (converted := _convert(item)) is not None]


def _convert(item: ContextItem) -> UpstreamItem | None:  # noqa: C901 - one arm per item type
    match item:
        case Message() | Reasoning() | FunctionCallOutput():
            return item
        case FunctionCall(namespace=None):
            return item
        case FunctionCall():
            return item.model_copy(update={"name": upstream_name(item.name, item.namespace), "namespace": None})
        case CustomToolCall():
            return _call(item, upstream_name(item.name, item.namespace), {"input": item.input})
        case LocalShellCall():
            return _call(item, "local_shell", item.action.model_dump(exclude={"type"}, exclude_none=True))
        case ShellCall():
            return _call(item, "shell", item.action.model_dump(exclude_none=True))
        case ApplyPatchCall():
            return _call(item, "apply_patch", item.operation.model_dump(exclude_none=True))
        case CustomToolCallOutput():
            return FunctionCallOutput(id=item.id, call_id=item.call_id, output=item.output)
        case LocalShellCallOutput():
            return FunctionCallOutput(call_id=item.id, output=item.output)
        case ShellCallOutput():
            return FunctionCallOutput(id=item.id, call_id=item.call_id, output=_shell_text(item))
        case ApplyPatchCallOutput():
            text = item.status if not item.output else f"{item.status}: {item.output}"
            return FunctionCallOutput(id=item.id, call_id=item.call_id, output=text)
        case ToolSearchCall() | ToolSearchOutput() | AdditionalTools() | HostedToolHistory() | Compaction():
            return None  # a compaction is expanded before this (``domain/compaction.py``)
        case _:
            assert_never(item)


def _call(item: CustomToolCall | LocalShellCall | ShellCall | ApplyPatchCall, name: str, args: Any) -> FunctionCall:
    return FunctionCall(id=item.id, call_id=item.call_id, name=name, arguments=json.dumps(args, ensure_ascii=False))


def _shell_text(item: ShellCallOutput) -> str:
    parts: list[str] = []
    for entry in item.output:
        outcome = entry.outcome
        status = "timed out" if outcome.type == "timeout" else f"exit code {outcome.exit_code}"
        parts.append(f"{status}\nstdout:\n{entry.stdout}\nstderr:\n{entry.stderr}")
    return "\n\n".join(parts)


_CALLS = (FunctionCall, CustomToolCall, LocalShellCall, ShellCall, ApplyPatchCall)
_OUTPUTS = (FunctionCallOutput, CustomToolCallOutput, ShellCallOutput, ApplyPatchCallOutput)


def _answered(item: ContextItem) -> str | None:
    if isinstance(item, _OUTPUTS):
        return item.call_id
    if isinstance(item, LocalShellCallOutput):
        return item.id
    return None


def check_tool_pairing(history: Sequence[ContextItem], new_items: Sequence[ContextItem]) -> None:
    """Every output answers a known call, and every call in the context has its output."""
    everything = [*history, *new_items]
    calls = {item.call_id for item in everything if isinstance(item, _CALLS)}
    outputs = {call_id for item in everything if (call_id := _answered(item)) is not None}
    for item in new_items:
        call_id = _answered(item)
        if call_id is not None and call_id not in calls:
            raise InvalidRequestError(
                f"No tool call found for function call output with call_id {call_id}.", param="input"
            )
    for item in everything:
        if isinstance(item, _CALLS) and item.call_id not in outputs:
            raise InvalidRequestError(f"No tool output found for function call {item.call_id}.", param="input")
