"""``tools``, ``tool_choice`` and the structured-output tool → Converse ``toolConfig``.

| Responses ``tool_choice`` | Converse |
|---|---|
| ``auto`` | no ``toolChoice`` (Converse's default is auto; some models refuse the field) |
| ``required`` | ``{any: {}}`` |
| ``{type: function | custom, name}``, ``{type: apply_patch | shell}`` | ``{tool: {name}}`` |
| ``{type: allowed_tools, mode, tools}`` | only the listed tools, ``auto`` or ``any`` |
| ``none`` | no ``toolConfig``; past tool blocks are sent as text (see ``bedrock_messages``) |

Every tool the client executes arrives as a function (``domain/tools.py``). When a turn offers no tools but its
history holds tool calls, those tools are declared as stubs: Converse requires a ``toolConfig`` beside any
``toolUse``/``toolResult`` block.

Structured output without native support (``json_object`` everywhere, ``json_schema`` on models without
``outputConfig.textFormat``) adds one synthetic tool whose input schema is the format's schema and sets
``{any: {}}``, so the model must either call one of the caller's tools or answer through the synthetic one.
The stream turns that tool's input into output text. When the caller forces a function call this turn
(``required``, a named function, ``allowed_tools`` with ``required``) the synthetic tool is left out: the
turn's output is a function call, not text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, assert_never

from gateway.domain.tools import ToolSet, UpstreamTool
from gateway.domain.upstream import ModelRequest
from gateway.errors import InvalidRequestError
from gateway.providers.bedrock.models import ModelProfile
from gateway.schemas.items import FunctionCall
from gateway.schemas.requests import FormatJsonObject, FormatJsonSchema, FormatText, TextFormat

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.type_defs import ToolChoiceTypeDef, ToolConfigurationTypeDef, ToolTypeDef

JSON_OBJECT_TOOL = "json_object"
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
_OUTPUT_TOOL_DESCRIPTION = "Give your final answer by calling this tool; its input is the answer."
_HISTORY_TOOL_DESCRIPTION = "A tool called earlier in this conversation; it is not available now."


@dataclass(slots=True)
class ToolPlan:
    config: ToolConfigurationTypeDef | None = None
    output_tool: str | None = None
    """The synthetic structured-output tool's name, whose input the stream reports as text."""
    user_tools_visible: bool = False
    """Whether tool blocks may stay in the messages (else past calls and results go to the model as text)."""


def _tool_spec(tool: UpstreamTool, profile: ModelProfile) -> ToolTypeDef:
    schema = tool.parameters if tool.parameters is not None else _EMPTY_SCHEMA
    spec: ToolTypeDef = {"toolSpec": {"name": tool.name, "inputSchema": {"json": schema}}}
    if tool.description:
        spec["toolSpec"]["description"] = tool.description
    if tool.strict and profile.native_structured_output:
        spec["toolSpec"]["strict"] = True
    return spec


def _select(toolset: ToolSet) -> tuple[list[UpstreamTool], ToolChoiceTypeDef | None]:
    """The tools offered this turn and the Converse tool choice (``None`` for auto)."""
    choice = toolset.choice
    if choice.mode == "none":
        return [], None
    if choice.name is not None:
        return toolset.tools, {"tool": {"name": choice.name}}
    if choice.mode == "required":
        return toolset.tools, {"any": {}}
    return toolset.tools, None


def _history_stubs(request: ModelRequest) -> list[ToolTypeDef]:
    """Converse refuses ``toolUse``/``toolResult`` blocks without a ``toolConfig``: when this turn offers no
    tools, the ones the history called are declared (as closed to new calls in their description), so the
    history reaches the model as the tool blocks it was, reasoning signatures included."""
    names = dict.fromkeys(item.name for item in request.items if isinstance(item, FunctionCall))
    return [
        {
            "toolSpec": {
                "name": name,
                "description": _HISTORY_TOOL_DESCRIPTION,
                "inputSchema": {"json": {"type": "object"}},
            }
        }
        for name in names
    ]


def _output_tool(fmt: TextFormat, profile: ModelProfile) -> ToolTypeDef | None:
    match fmt:
        case FormatText():
            return None
        case FormatJsonSchema():
            if profile.native_structured_output:
                return None
            return {
                "toolSpec": {
                    "name": fmt.name,
                    "description": fmt.description or _OUTPUT_TOOL_DESCRIPTION,
                    "inputSchema": {"json": fmt.schema_},
                }
            }
        case FormatJsonObject():
            return {
                "toolSpec": {
                    "name": JSON_OBJECT_TOOL,
                    "description": _OUTPUT_TOOL_DESCRIPTION + " Answer with a JSON object.",
                    "inputSchema": {"json": {"type": "object"}},
                }
            }
        case _:
            assert_never(fmt)


def plan_tools(request: ModelRequest, profile: ModelProfile) -> ToolPlan:
    params = request.params
    offered, choice = _select(request.tools)
    specs = [_tool_spec(tool, profile) for tool in offered]
    fmt = params.text.format if params.text else FormatText(type="text")
    output_spec = _output_tool(fmt, profile) if choice is None else None
    output_name: str | None = None
    if output_spec is not None:
        output_name = output_spec["toolSpec"]["name"]
        if any(tool.name == output_name for tool in offered):
            raise InvalidRequestError(
                f"text.format needs a tool named '{output_name}' on this model, and tools already has one; "
                "rename one of them.",
                param="text.format.name",
            )
        specs.append(output_spec)
        choice = {"any": {}}
    visible = bool(offered)
    if not specs and request.tools.choice.mode != "none":
        specs = _history_stubs(request)
        visible = bool(specs)
    if not specs:
        return ToolPlan()
    config: ToolConfigurationTypeDef = {"tools": specs}
    if choice is not None:
        config["toolChoice"] = choice
    return ToolPlan(config=config, output_tool=output_name, user_tools_visible=visible)
