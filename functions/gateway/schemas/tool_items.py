"""Tool-call items beyond ``function_call``: custom tools, the client-executed built-ins, tool search, hosted-tool
history, and the unions of everything an ``input`` or an ``output`` may hold.

Shapes follow openai-python's ``types/responses`` (``response_custom_tool_call.py``,
``response_input_item.py`` …). Hosted-tool history (``web_search_call`` …) is kept whole, unknown fields and all,
since the gateway only carries it from turn to turn.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag

from gateway.schemas.base import WireModel
from gateway.schemas.items import (
    FunctionCall,
    FunctionCallOutput,
    ItemReference,
    ItemStatus,
    Message,
    Reasoning,
    ToolOutputPart,
    _item_tag,
    optional,
)


class CustomToolCall(WireModel):
    """A call of a ``custom`` tool: ``input`` is the raw text the model wrote, not JSON."""

    type: Literal["custom_tool_call"] = "custom_tool_call"
    id: str | None = None
    call_id: str = Field(min_length=1, max_length=64)
    name: str
    input: str
    namespace: str | None = optional()
    status: ItemStatus | None = optional()
    """Set on stored items (OpenAI's item resources carry it), absent on output items as OpenAI sends them."""


class CustomToolCallOutput(WireModel):
    type: Literal["custom_tool_call_output"] = "custom_tool_call_output"
    id: str | None = None
    call_id: str = Field(min_length=1, max_length=64)
    output: str | list[ToolOutputPart]
    status: ItemStatus | None = optional()


class LocalShellAction(WireModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["exec"] = "exec"
    command: list[str]
    env: dict[str, str] = Field(default_factory=dict)
    timeout_ms: int | None = None
    user: str | None = None
    working_directory: str | None = None


class LocalShellCall(WireModel):
    type: Literal["local_shell_call"] = "local_shell_call"
    id: str | None = None
    call_id: str = Field(min_length=1, max_length=64)
    action: LocalShellAction
    status: ItemStatus = "completed"


class LocalShellCallOutput(WireModel):
    """The output of a ``local_shell_call``; its ``id`` is the call's ``call_id``."""

    type: Literal["local_shell_call_output"] = "local_shell_call_output"
    id: str
    call_id: str | None = optional()
    """OpenAI's item resource names the call here too; the ``id`` is what pairs it."""
    output: str
    status: ItemStatus | None = optional()


class ShellAction(WireModel):
    model_config = ConfigDict(extra="allow")
    commands: list[str]
    timeout_ms: int | None = None
    max_output_length: int | None = None


class ShellCall(WireModel):
    type: Literal["shell_call"] = "shell_call"
    id: str | None = None
    call_id: str = Field(min_length=1, max_length=64)
    action: ShellAction
    status: ItemStatus = "completed"
    environment: Any = None


class ShellOutcome(WireModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["exit", "timeout"]
    exit_code: int | None = optional()


class ShellOutputContent(WireModel):
    stdout: str = ""
    stderr: str = ""
    outcome: ShellOutcome


class ShellCallOutput(WireModel):
    type: Literal["shell_call_output"] = "shell_call_output"
    id: str | None = None
    call_id: str = Field(min_length=1, max_length=64)
    output: list[ShellOutputContent]
    max_output_length: int | None = None
    status: ItemStatus | None = optional()


class PatchOperation(WireModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["create_file", "update_file", "delete_file"]
    path: str
    diff: str | None = optional()
    """V4A diff of the file (absent for ``delete_file``)."""


class ApplyPatchCall(WireModel):
    type: Literal["apply_patch_call"] = "apply_patch_call"
    id: str | None = None
    call_id: str = Field(min_length=1, max_length=64)
    operation: PatchOperation
    status: Literal["in_progress", "completed"] = "completed"


class ApplyPatchCallOutput(WireModel):
    type: Literal["apply_patch_call_output"] = "apply_patch_call_output"
    id: str | None = None
    call_id: str = Field(min_length=1, max_length=64)
    status: Literal["completed", "failed"]
    output: str | None = optional()


class ToolSearchCall(WireModel):
    type: Literal["tool_search_call"] = "tool_search_call"
    id: str | None = None
    call_id: str | None = None
    arguments: Any = None
    execution: Literal["server", "client"] = "server"
    status: ItemStatus | None = optional()


class ToolSearchOutput(WireModel):
    """Tools a search loaded: from here on they are offered to the model like ``tools``."""

    type: Literal["tool_search_output"] = "tool_search_output"
    id: str | None = None
    call_id: str | None = None
    execution: Literal["server", "client"] = "server"
    status: ItemStatus | None = optional()
    tools: list[dict[str, Any]] = Field(default_factory=list)


class AdditionalTools(WireModel):
    """Tools injected mid-input (Codex): offered to the model for this turn like ``tools``."""

    type: Literal["additional_tools"] = "additional_tools"
    id: str | None = None
    role: Literal["developer"] = "developer"
    tools: list[dict[str, Any]] = Field(default_factory=list)


HOSTED_HISTORY_TYPES = (
    "web_search_call",
    "file_search_call",
    "code_interpreter_call",
    "image_generation_call",
    "computer_call",
    "computer_call_output",
    "mcp_call",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
)


class Compaction(WireModel):
    """A compacted context (``POST /v1/responses/compact``, ``compaction_trigger``, ``context_management``).

    ``encrypted_content`` is the summary sealed for the tenant (``domain/compaction.py``); it is kept sealed at
    rest too, and opened only to build an upstream request."""

    type: Literal["compaction"] = "compaction"
    id: str | None = None
    encrypted_content: str = Field(max_length=10_485_760)
    created_by: str | None = optional()


class CompactionTrigger(WireModel):
    """Codex's request to compact the context inside a create: the last input item, never stored."""

    type: Literal["compaction_trigger"] = "compaction_trigger"


class HostedToolHistory(WireModel):
    """A hosted tool's call or result from an earlier turn (made by OpenAI): carried unchanged, unseen upstream."""

    model_config = ConfigDict(extra="allow")
    type: Literal[HOSTED_HISTORY_TYPES]  # type: ignore[valid-type]
    id: str | None = None


ToolItem = (
    CustomToolCall
    | CustomToolCallOutput
    | LocalShellCall
    | LocalShellCallOutput
    | ShellCall
    | ShellCallOutput
    | ApplyPatchCall
    | ApplyPatchCallOutput
    | ToolSearchCall
    | ToolSearchOutput
    | AdditionalTools
    | HostedToolHistory
    | Compaction
)
ContextItem = Message | FunctionCall | FunctionCallOutput | Reasoning | ToolItem
"""A resolved item of a model's context: what is stored and translated (no references left)."""

_TAGGED = (
    Annotated[Message, Tag("message")]
    | Annotated[FunctionCall, Tag("function_call")]
    | Annotated[FunctionCallOutput, Tag("function_call_output")]
    | Annotated[Reasoning, Tag("reasoning")]
    | Annotated[CustomToolCall, Tag("custom_tool_call")]
    | Annotated[CustomToolCallOutput, Tag("custom_tool_call_output")]
    | Annotated[LocalShellCall, Tag("local_shell_call")]
    | Annotated[LocalShellCallOutput, Tag("local_shell_call_output")]
    | Annotated[ShellCall, Tag("shell_call")]
    | Annotated[ShellCallOutput, Tag("shell_call_output")]
    | Annotated[ApplyPatchCall, Tag("apply_patch_call")]
    | Annotated[ApplyPatchCallOutput, Tag("apply_patch_call_output")]
    | Annotated[ToolSearchCall, Tag("tool_search_call")]
    | Annotated[ToolSearchOutput, Tag("tool_search_output")]
    | Annotated[AdditionalTools, Tag("additional_tools")]
    | Annotated[Compaction, Tag("compaction")]
)
_HOSTED = Annotated[HostedToolHistory, Tag("hosted")]


def _tag(value: Any) -> str | None:
    tag = _item_tag(value)
    return "hosted" if tag in HOSTED_HISTORY_TYPES else tag


InputItem = Annotated[
    _TAGGED
    | _HOSTED
    | Annotated[ItemReference, Tag("item_reference")]
    | Annotated[CompactionTrigger, Tag("compaction_trigger")],
    Discriminator(_tag),
]
"""Anything a client may put in ``input``."""

StoredItem = Annotated[_TAGGED | _HOSTED, Discriminator(_tag)]
"""A stored context item, read back by its ``type``."""

OutputItem = Annotated[
    Annotated[Message, Tag("message")]
    | Annotated[FunctionCall, Tag("function_call")]
    | Annotated[Reasoning, Tag("reasoning")]
    | Annotated[CustomToolCall, Tag("custom_tool_call")]
    | Annotated[LocalShellCall, Tag("local_shell_call")]
    | Annotated[ShellCall, Tag("shell_call")]
    | Annotated[ApplyPatchCall, Tag("apply_patch_call")]
    | Annotated[Compaction, Tag("compaction")],
    Discriminator(_item_tag),
]
"""What a model produces in ``output``."""
