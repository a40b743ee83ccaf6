"""A model's function call → the output item the client expects, by the kind of tool it called.

The upstream only ever calls functions; ``domain/tools.py`` knows which client tool each function stands for.
A call of a ``custom`` tool carries ``{"input": <text>}`` and becomes a ``custom_tool_call`` whose ``input`` is
that text (streamed as it arrives, decoded from the partial JSON); a call of a built-in becomes its own item
(``local_shell_call``, ``shell_call``, ``apply_patch_call``) once its arguments are complete. Arguments that do not
fit the built-in's shape leave the call a plain ``function_call``, so nothing the model said is lost.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import from_json

from gateway.domain.tools import UpstreamTool
from gateway.schemas.items import FunctionCall, ItemStatus
from gateway.schemas.tool_items import (
    ApplyPatchCall,
    CustomToolCall,
    LocalShellAction,
    LocalShellCall,
    PatchOperation,
    ShellAction,
    ShellCall,
)

CallItem = FunctionCall | CustomToolCall | LocalShellCall | ShellCall | ApplyPatchCall


def custom_input(arguments: str, *, partial: bool) -> str:
    """The text of a custom tool call so far: the ``input`` string of its (possibly unfinished) JSON arguments.

    A model that answered with something else (another key, or not JSON at all) is taken at its word: the one
    string value, or the raw arguments.
    """
    if not arguments:
        return ""
    try:
        parsed = from_json(arguments, allow_partial="trailing-strings" if partial else False)
    except ValueError:
        return "" if partial else arguments
    if isinstance(parsed, dict):
        value = parsed.get("input")
        if isinstance(value, str):
            return value
        strings = [item for item in parsed.values() if isinstance(item, str)]
        if len(strings) == 1 and not partial:
            return strings[0]
    return "" if partial else arguments


def call_item(
    tool: UpstreamTool | None, item_id: str, call_id: str, name: str, arguments: str, status: ItemStatus
) -> CallItem:
    """The finished item for a call of upstream function ``name`` (``tool`` is its declaration, if any)."""
    if tool is None or tool.kind == "function":
        namespace = tool.namespace if tool is not None else None
        client_name = tool.client_name if tool is not None else name
        return FunctionCall(
            id=item_id, call_id=call_id, name=client_name, arguments=arguments, namespace=namespace, status=status
        )
    if tool.kind == "custom":
        text = custom_input(arguments, partial=False)
        return CustomToolCall(id=item_id, call_id=call_id, name=tool.client_name, input=text, namespace=tool.namespace)
    try:
        args = from_json(arguments or "{}")
        if isinstance(args, dict):
            return _builtin(tool.kind, item_id, call_id, args, status)
    except (ValueError, ValidationError):
        pass
    return FunctionCall(id=item_id, call_id=call_id, name=name, arguments=arguments, status=status)


def _builtin(kind: str, item_id: str, call_id: str, args: dict[str, Any], status: ItemStatus) -> CallItem:
    if kind == "local_shell":
        action = LocalShellAction.model_validate({**args, "type": "exec"})
        return LocalShellCall(id=item_id, call_id=call_id, action=action, status=status)
    if kind == "shell":
        return ShellCall(id=item_id, call_id=call_id, action=ShellAction.model_validate(args), status=status)
    operation = PatchOperation.model_validate(args)
    patch_status = "completed" if status == "completed" else "in_progress"
    return ApplyPatchCall(id=item_id, call_id=call_id, operation=operation, status=patch_status)


ID_PREFIX = {"function": "fc", "custom": "ctc", "local_shell": "lsh", "shell": "sh", "apply_patch": "apc"}
"""Id prefix of each kind of call item the builder makes."""
