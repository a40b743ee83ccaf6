"""``tools``, ``tool_choice`` and the structured-output tool → Converse ``toolConfig``.

| Responses ``tool_choice`` | Converse |
|---|---|
| ``auto`` | no ``toolChoice`` (Converse's default is auto; some models refuse the field) |
| ``required`` | ``{any: {}}`` |
| ``{type: function, name}`` | ``{tool: {name}}`` |
| ``{type: allowed_tools, mode, tools}`` | only the listed tools, ``auto`` or ``any`` |
| ``none`` (or no tools sent) | no ``toolConfig``; past tool blocks are sent as text (see ``bedrock_messages``) |

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

from gateway.errors import InvalidRequestError
from gateway.providers.bedrock_models import ModelProfile
from gateway.schemas.requests import (
    FormatJsonObject,
    FormatJsonSchema,
    FormatText,
    FunctionTool,
    HostedTool,
    ResponseCreateParams,
    TextFormat,
    ToolChoiceAllowed,
    ToolChoiceFunction,
    ToolChoiceHosted,
)

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.type_defs import ToolChoiceTypeDef, ToolConfigurationTypeDef, ToolTypeDef

JSON_OBJECT_TOOL = "json_object"
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
_OUTPUT_TOOL_DESCRIPTION = "Give your final answer by calling this tool; its input is the answer."


@dataclass(slots=True)
class ToolPlan:
    config: ToolConfigurationTypeDef | None = None
    output_tool: str | None = None
    """The synthetic structured-output tool's name, whose input the stream reports as text."""
    user_tools_visible: bool = False
    """Whether the caller's tools are offered this turn (else past tool blocks go to the model as text)."""


def _function_tools(params: ResponseCreateParams) -> list[FunctionTool]:
    tools: list[FunctionTool] = []
    for index, tool in enumerate(params.tools):
        if isinstance(tool, HostedTool):
            raise InvalidRequestError(
                f"Tool type '{tool.type}' is not supported on Bedrock models; only function tools are.",
                param=f"tools[{index}]",
                code="unsupported_value",
            )
        tools.append(tool)
    return tools


def _tool_spec(tool: FunctionTool, profile: ModelProfile) -> ToolTypeDef:
    spec: ToolTypeDef = {"toolSpec": {"name": tool.name, "inputSchema": {"json": tool.parameters or _EMPTY_SCHEMA}}}
    if tool.description:
        spec["toolSpec"]["description"] = tool.description
    if tool.strict is True and profile.native_structured_output:
        spec["toolSpec"]["strict"] = True
    return spec


def _select(
    params: ResponseCreateParams, tools: list[FunctionTool]
) -> tuple[list[FunctionTool], ToolChoiceTypeDef | None]:
    """The tools offered this turn and the Converse tool choice (``None`` for auto)."""
    declared = {tool.name for tool in tools}
    choice = params.tool_choice
    match choice:
        case "none":
            return [], None
        case "auto":
            return tools, None
        case "required":
            if not tools:
                raise InvalidRequestError("tool_choice 'required' needs at least one tool.", param="tool_choice")
            return tools, {"any": {}}
        case ToolChoiceFunction(name=name):
            if name not in declared:
                raise InvalidRequestError(f"tool_choice names '{name}', which is not in tools.", param="tool_choice")
            return tools, {"tool": {"name": name}}
        case ToolChoiceAllowed(mode=mode, tools=allowed):
            names = {str(entry.get("name")) for entry in allowed}
            if unknown := sorted(names - declared):
                raise InvalidRequestError(
                    f"tool_choice.tools names {unknown}, which are not in tools.", param="tool_choice"
                )
            chosen = [tool for tool in tools if tool.name in names]
            return chosen, ({"any": {}} if mode == "required" else None)
        case ToolChoiceHosted():
            raise InvalidRequestError(
                f"tool_choice '{choice.type}' is not supported on Bedrock models.",
                param="tool_choice",
                code="unsupported_value",
            )
        case _:
            assert_never(choice)


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


def plan_tools(params: ResponseCreateParams, profile: ModelProfile) -> ToolPlan:
    tools = _function_tools(params)
    offered, choice = _select(params, tools)
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
    if not specs:
        return ToolPlan()
    config: ToolConfigurationTypeDef = {"tools": specs}
    if choice is not None:
        config["toolChoice"] = choice
    return ToolPlan(config=config, output_tool=output_name, user_tools_visible=bool(offered))
