"""The tools of one model call as an upstream sees them: every tool a client executes becomes a function.

``ToolSet`` is built once per request from ``tools``, ``additional_tools`` input items and tools loaded by
``tool_search_output`` items. Providers translate its ``UpstreamTool``s (name, description, JSON schema,
strict) and its ``ToolChoiceSpec``; the builder maps a call of an upstream name back to the item the client
expects (``function_call`` with its ``namespace``, ``custom_tool_call``, ``shell_call`` …).

Upstream names must match ``^[a-zA-Z0-9_-]{1,64}$`` on every provider, and a namespace's members are flattened
as ``<namespace>__<name>``, shortened with a hash when that is too long: the same input always gives the same
name, so a history item maps to the name its call was made under.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from gateway.domain.tool_specs import BUILTINS, CUSTOM_SCHEMA, custom_description
from gateway.errors import InvalidRequestError
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.tool_items import AdditionalTools, ContextItem, ToolSearchOutput
from gateway.schemas.tools import (
    ApplyPatchTool,
    CustomTool,
    FunctionTool,
    HostedTool,
    LocalShellTool,
    NamespaceTool,
    ShellTool,
    Tool,
    ToolChoiceAllowed,
    ToolChoiceBuiltin,
    ToolChoiceCustom,
    ToolChoiceFunction,
    ToolChoiceHosted,
    ToolSearchTool,
)

ToolKind = Literal["function", "custom", "local_shell", "shell", "apply_patch"]
_TOOLS: TypeAdapter[list[Tool]] = TypeAdapter(list[Tool])
_MAX_NAME = 64


@dataclass(frozen=True, slots=True)
class UpstreamTool:
    """One function as the upstream is offered it."""

    name: str
    """The name the upstream sees (unique in the request)."""
    kind: ToolKind
    client_name: str
    """The name the client knows: a function's or custom tool's name, or the built-in's type."""
    description: str | None
    parameters: dict[str, Any] | None
    """JSON schema of the arguments; None when the client gave none (a function without arguments)."""
    strict: bool
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class ToolChoiceSpec:
    mode: Literal["none", "auto", "required"] = "auto"
    name: str | None = None
    """The upstream name of the one tool the model must call (``mode`` is then ``required``)."""


@dataclass(slots=True)
class ToolSet:
    tools: list[UpstreamTool] = field(default_factory=list)
    """Offered this turn, after ``allowed_tools``."""
    choice: ToolChoiceSpec = field(default_factory=ToolChoiceSpec)
    omitted: list[str] = field(default_factory=list)
    """Tool types left out because no upstream can run them (``web_search`` …), in request order."""
    known: dict[str, UpstreamTool] = field(default_factory=dict)
    """Every declared tool by upstream name, offered or not (for mapping calls back)."""

    def lookup(self, upstream_name: str) -> UpstreamTool | None:
        return self.known.get(upstream_name)


def upstream_name(name: str, namespace: str | None = None) -> str:
    """The upstream name of a tool (or history call) called ``name`` in ``namespace``."""
    if namespace is None:
        return name
    flat = f"{namespace}__{name}"
    if len(flat) <= _MAX_NAME:
        return flat
    digest = hashlib.sha256(flat.encode()).hexdigest()[:10]
    return f"{flat[: _MAX_NAME - 11]}_{digest}"


def build_toolset(params: ResponseCreateParams, items: Sequence[ContextItem], *, refuse_hosted: bool) -> ToolSet:
    toolset = ToolSet()
    for index, tool in enumerate(params.tools):
        _declare(toolset, tool, f"tools[{index}]", refuse_hosted=refuse_hosted)
    for item in items:
        if isinstance(item, AdditionalTools | ToolSearchOutput):
            for tool in _loaded(item.tools):
                _declare(toolset, tool, "input", refuse_hosted=False)
    toolset.tools, toolset.choice = _select(params, toolset)
    return toolset


def _loaded(raw: list[dict[str, Any]]) -> list[Tool]:
    try:
        return _TOOLS.validate_python(raw)
    except ValidationError as exc:
        raise InvalidRequestError(f"Invalid tool in input: {exc.errors()[0]['msg']}.", param="input") from None


def _declare(toolset: ToolSet, tool: Tool, param: str, *, refuse_hosted: bool) -> None:
    match tool:
        case FunctionTool() | CustomTool():
            _add(toolset, _member(tool, None), param)
        case NamespaceTool():
            for member in tool.tools:
                _add(toolset, _member(member, tool.name), param)
        case LocalShellTool() | ShellTool() | ApplyPatchTool():
            _add(toolset, _builtin(tool), param)
        case ToolSearchTool():
            # Deferred tools are offered upfront, so there is nothing for the model to search for.
            toolset.omitted.append(tool.type)
        case HostedTool():
            if refuse_hosted:
                raise InvalidRequestError(
                    f"The built-in tool '{tool.type}' is not supported by this gateway.",
                    param=f"{param}.type",
                    code="unsupported_parameter",
                )
            toolset.omitted.append(tool.type)


def _add(toolset: ToolSet, tool: UpstreamTool, param: str) -> None:
    existing = toolset.known.get(tool.name)
    if existing is not None:
        if existing == tool:
            return  # the same tool loaded twice (e.g. tools and a tool search): one offer
        raise InvalidRequestError(f"Duplicate tool name '{tool.name}'.", param=param, code="invalid_value")
    toolset.known[tool.name] = tool


def _member(tool: FunctionTool | CustomTool, namespace: str | None) -> UpstreamTool:
    name = upstream_name(tool.name, namespace)
    if isinstance(tool, CustomTool):
        return UpstreamTool(name, "custom", tool.name, custom_description(tool), CUSTOM_SCHEMA, True, namespace)
    return UpstreamTool(
        name, "function", tool.name, tool.description, tool.parameters, effective_strict(tool), namespace
    )


def _parameters(tool: FunctionTool) -> dict[str, Any]:
    return tool.parameters if tool.parameters is not None else {"type": "object", "properties": {}}


def effective_strict(tool: FunctionTool) -> bool:
    """``strict`` as set, else whether the schema is already strict-compatible."""
    return tool.strict if tool.strict is not None else strict_compatible(_parameters(tool))


def strict_compatible(schema: Any) -> bool:
    """Whether ``schema`` already satisfies OpenAI's strict mode: every object closed and all its properties
    required. A client that left ``strict`` out gets strict only then (LangChain and LlamaIndex send schemas
    strict mode rejects). Walks the schema's structure (not every key: a property may be named ``properties``)."""
    if not isinstance(schema, dict):
        return True
    kinds = schema.get("type")
    if kinds == "object" or (isinstance(kinds, list) and "object" in kinds) or "properties" in schema:
        properties = schema.get("properties") or {}
        if schema.get("additionalProperties") is not False or set(schema.get("required") or ()) != set(properties):
            return False
    return all(strict_compatible(child) for child in _subschemas(schema))


def _subschemas(schema: dict[str, Any]) -> list[Any]:
    children: list[Any] = list((schema.get("properties") or {}).values())
    for key in ("$defs", "definitions"):
        children += list((schema.get(key) or {}).values())
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        children += list(schema.get(key) or ())
    items = schema.get("items")
    children += items if isinstance(items, list) else [items]
    for key in ("additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            children.append(schema[key])
    return children


def _builtin(tool: LocalShellTool | ShellTool | ApplyPatchTool) -> UpstreamTool:
    description, parameters = BUILTINS[tool.type]
    return UpstreamTool(tool.type, tool.type, tool.type, description, parameters, False)


def _select(params: ResponseCreateParams, toolset: ToolSet) -> tuple[list[UpstreamTool], ToolChoiceSpec]:
    tools = list(toolset.known.values())
    choice = params.tool_choice
    match choice:
        case "none":
            return tools, ToolChoiceSpec("none")
        case "auto":
            return tools, ToolChoiceSpec("auto")
        case "required":
            if not tools:
                raise InvalidRequestError(
                    "Tool choice 'required' must be specified with 'tools' parameter.", param="tool_choice"
                )
            return tools, ToolChoiceSpec("required")
        case ToolChoiceFunction(name=name) | ToolChoiceCustom(name=name):
            kind = "function" if isinstance(choice, ToolChoiceFunction) else "custom"
            return tools, ToolChoiceSpec("required", _forced(toolset, kind, name))
        case ToolChoiceBuiltin(type=kind):
            return tools, ToolChoiceSpec("required", _forced(toolset, kind, kind))
        case ToolChoiceAllowed(mode=mode, tools=allowed):
            chosen = _allowed(toolset, allowed)
            if mode == "required" and not chosen:
                raise InvalidRequestError(
                    "tool_choice.tools allows no tool this gateway can offer.", param="tool_choice.tools"
                )
            return chosen, ToolChoiceSpec(mode)
        case ToolChoiceHosted():
            raise InvalidRequestError(
                f"tool_choice requires the built-in tool '{choice.type}', which this gateway cannot run.",
                param="tool_choice",
                code="unsupported_parameter",
            )
    raise AssertionError(choice)  # pragma: no cover - the schema admits nothing else


def _forced(toolset: ToolSet, kind: str, name: str) -> str:
    for tool in toolset.known.values():
        if tool.kind == kind and tool.client_name == name:
            return tool.name
    label = f"'{name}'" if kind in ("function", "custom") else f"'{kind}' (add it to 'tools')"
    raise InvalidRequestError(
        f"Tool choice {label} not found in 'tools' parameter.", param="tool_choice", code="invalid_value"
    )


def _allowed(toolset: ToolSet, allowed: Iterable[dict[str, Any]]) -> list[UpstreamTool]:
    names: set[str] = set()
    for entry in allowed:
        kind = entry.get("type")
        if kind in ("function", "custom"):
            names.update(
                tool.name
                for tool in toolset.known.values()
                if tool.kind == kind and tool.client_name == entry.get("name")
            )
        elif kind in ("local_shell", "shell", "apply_patch"):
            names.add(str(kind))
    return [tool for tool in toolset.known.values() if tool.name in names]
