"""``tools`` and ``tool_choice`` of a create request, as openai-python's ``types/responses/tool.py`` names them.

Three families, treated differently by the gateway (RESPONSES_2026.md §2):

- tools the *client* executes: ``function``, ``custom`` (freeform text, e.g. Codex's ``apply_patch``),
  ``namespace`` (a group of functions), and the built-ins ``local_shell``, ``shell`` and ``apply_patch``. Each is
  offered to the upstream as a function and its calls come back as the tool's own item type;
- ``tool_search``: the gateway cannot search, so it offers deferred tools directly and leaves this one out;
- hosted tools OpenAI runs server-side (``web_search``, ``file_search``, ``mcp`` …): no upstream can run them,
  so they are omitted from the upstream request and reported (``x-responses-omitted-tools``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from gateway.schemas.base import RequestModel

NAME_PATTERN = r"^[a-zA-Z0-9_-]+$"
HOSTED_TOOL_TYPES = (
    "file_search",
    "web_search",
    "web_search_preview",
    "web_search_2025_08_26",
    "web_search_preview_2025_03_11",
    "computer",
    "computer_use",
    "computer_use_preview",
    "mcp",
    "code_interpreter",
    "image_generation",
    "programmatic_tool_calling",
)
BUILTIN_TOOL_TYPES = ("local_shell", "shell", "apply_patch")
"""Built-in tools the client executes: mapped, never omitted."""
Caller = Literal["direct", "programmatic"]


class FunctionTool(RequestModel):
    """A function the model may call. Flat shape: ``name`` at the top level, unlike Chat Completions."""

    type: Literal["function"]
    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    """Left out: strict upstream only when the schema already satisfies strict mode (see ``domain/tools.py``)."""
    defer_loading: bool | None = None
    """For tool search; the gateway offers deferred tools like any other."""
    output_schema: dict[str, Any] | None = None
    allowed_callers: list[Caller] | None = None


class CustomFormatText(RequestModel):
    type: Literal["text"]


class CustomFormatGrammar(RequestModel):
    type: Literal["grammar"]
    syntax: Literal["lark", "regex"]
    definition: str


CustomFormat = Annotated[CustomFormatText | CustomFormatGrammar, Field(discriminator="type")]


class CustomTool(RequestModel):
    """A tool whose input is free text (optionally constrained by a grammar), not JSON arguments."""

    type: Literal["custom"]
    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    description: str | None = None
    format: CustomFormat | None = None
    defer_loading: bool | None = None
    allowed_callers: list[Caller] | None = None


NamespaceMember = Annotated[FunctionTool | CustomTool, Field(discriminator="type")]


class NamespaceTool(RequestModel):
    """A named group of tools; calls come back with the member's ``name`` and the group's ``namespace``."""

    type: Literal["namespace"]
    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    description: str | None = None
    tools: list[NamespaceMember]


class ToolSearchTool(RequestModel, extra="allow"):
    type: Literal["tool_search"]
    description: str | None = None
    execution: Literal["server", "client"] | None = None
    parameters: Any = None


class LocalShellTool(RequestModel, extra="allow"):
    type: Literal["local_shell"]


class ShellTool(RequestModel, extra="allow"):
    type: Literal["shell"]
    environment: Any = None
    allowed_callers: list[Caller] | None = None


class ApplyPatchTool(RequestModel, extra="allow"):
    type: Literal["apply_patch"]
    allowed_callers: list[Caller] | None = None


class HostedTool(RequestModel, extra="allow"):
    """A tool OpenAI runs server-side; accepted so the gateway can omit it by name."""

    type: Literal[HOSTED_TOOL_TYPES]  # type: ignore[valid-type]


Tool = Annotated[
    FunctionTool
    | CustomTool
    | NamespaceTool
    | ToolSearchTool
    | LocalShellTool
    | ShellTool
    | ApplyPatchTool
    | HostedTool,
    Field(discriminator="type"),
]
BuiltinTool = LocalShellTool | ShellTool | ApplyPatchTool


class ToolChoiceFunction(RequestModel):
    type: Literal["function"]
    name: str


class ToolChoiceCustom(RequestModel):
    type: Literal["custom"]
    name: str


class ToolChoiceBuiltin(RequestModel):
    """Forces one of the client-executed built-ins (``{"type": "apply_patch"}``, ``{"type": "shell"}``)."""

    type: Literal[BUILTIN_TOOL_TYPES]  # type: ignore[valid-type]


class ToolChoiceAllowed(RequestModel):
    type: Literal["allowed_tools"]
    mode: Literal["auto", "required"]
    tools: list[dict[str, Any]]


class ToolChoiceHosted(RequestModel, extra="allow"):
    type: Literal[HOSTED_TOOL_TYPES]  # type: ignore[valid-type]


ToolChoice = (
    Literal["none", "auto", "required"]
    | Annotated[
        ToolChoiceFunction | ToolChoiceCustom | ToolChoiceBuiltin | ToolChoiceAllowed | ToolChoiceHosted,
        Field(discriminator="type"),
    ]
)
