"""``build_toolset``: every tool a client executes becomes one upstream function; hosted tools are left out."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.domain.tools import ToolChoiceSpec, build_toolset, upstream_name
from gateway.errors import InvalidRequestError
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.tool_items import AdditionalTools, ToolSearchOutput

APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Use the `apply_patch` tool to edit files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": 'start: begin_patch\nbegin_patch: "*** Begin Patch"'},
}
SHELL = {
    "type": "function",
    "name": "shell_command",
    "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
}
MCP = {
    "type": "namespace",
    "name": "mcp__github",
    "description": "GitHub tools",
    "tools": [{"type": "function", "name": "create_issue", "parameters": {"type": "object", "properties": {}}}],
}


def toolset(items: list[Any] | None = None, refuse_hosted: bool = False, **body: Any) -> Any:
    params = ResponseCreateParams.model_validate({"model": "m", "input": "hi", **body})
    return build_toolset(params, items or [], refuse_hosted=refuse_hosted)


def test_codex_default_tools_map_and_web_search_is_omitted() -> None:
    tools = toolset(tools=[SHELL, APPLY_PATCH, {"type": "web_search", "external_web_access": False}, MCP])
    by_name = {tool.name: tool for tool in tools.tools}
    assert list(by_name) == ["shell_command", "apply_patch", "mcp__github__create_issue"]
    assert tools.omitted == ["web_search"]
    custom = by_name["apply_patch"]
    assert custom.kind == "custom" and custom.client_name == "apply_patch"
    assert custom.parameters is not None and custom.parameters["required"] == ["input"]
    assert custom.description is not None and '"*** Begin Patch"' in custom.description and "lark" in custom.description
    member = by_name["mcp__github__create_issue"]
    assert (member.kind, member.client_name, member.namespace) == ("function", "create_issue", "mcp__github")


def test_hosted_tools_can_be_refused_by_setting() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        toolset(tools=[SHELL, {"type": "web_search"}], refuse_hosted=True)
    assert caught.value.param == "tools[1].type"


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", ToolChoiceSpec("auto")),
        ("none", ToolChoiceSpec("none")),
        ({"type": "custom", "name": "apply_patch"}, ToolChoiceSpec("required", "apply_patch")),
        ({"type": "function", "name": "shell_command"}, ToolChoiceSpec("required", "shell_command")),
        ({"type": "apply_patch"}, ToolChoiceSpec("required", "apply_patch")),
    ],
)
def test_tool_choice_forms(choice: Any, expected: ToolChoiceSpec) -> None:
    tools = [SHELL, APPLY_PATCH] if choice != {"type": "apply_patch"} else [{"type": "apply_patch"}]
    assert toolset(tools=tools, tool_choice=choice).choice == expected


@pytest.mark.parametrize(
    "choice",
    [
        {"type": "web_search"},  # requires a tool the gateway omits
        {"type": "custom", "name": "shell_command"},  # a function, not a custom tool
        {"type": "function", "name": "nope"},
        {"type": "shell"},  # not declared
    ],
)
def test_tool_choice_that_cannot_be_honoured_is_a_400(choice: Any) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        toolset(tools=[SHELL, APPLY_PATCH, {"type": "web_search"}], tool_choice=choice)
    assert caught.value.param == "tool_choice"


def test_allowed_tools_offers_only_the_listed_ones() -> None:
    allowed = {"type": "allowed_tools", "mode": "required", "tools": [{"type": "custom", "name": "apply_patch"}]}
    tools = toolset(tools=[SHELL, APPLY_PATCH], tool_choice=allowed)
    assert [tool.name for tool in tools.tools] == ["apply_patch"]
    assert tools.choice == ToolChoiceSpec("required")
    # every declared tool stays known, so a call of one made earlier still maps back
    assert tools.lookup("shell_command") is not None


def test_tools_from_additional_tools_and_tool_search_items_are_offered() -> None:
    injected = AdditionalTools(tools=[{"type": "function", "name": "late", "parameters": {"type": "object"}}])
    found = ToolSearchOutput(tools=[{"type": "function", "name": "found", "defer_loading": True}])
    tools = toolset([injected, found], tools=[{"type": "tool_search"}, SHELL])
    assert [tool.name for tool in tools.tools] == ["shell_command", "late", "found"]
    assert tools.omitted == ["tool_search"]


def test_builtins_become_functions_and_names_cannot_collide() -> None:
    tools = toolset(tools=[{"type": "shell"}, {"type": "local_shell"}, {"type": "apply_patch"}])
    assert [(tool.name, tool.kind) for tool in tools.tools] == [
        ("shell", "shell"),
        ("local_shell", "local_shell"),
        ("apply_patch", "apply_patch"),
    ]
    with pytest.raises(InvalidRequestError) as caught:
        toolset(tools=[{"type": "apply_patch"}, APPLY_PATCH])
    assert caught.value.code == "invalid_value"


def test_namespaced_names_stay_valid_and_stable_when_long() -> None:
    name = upstream_name("a" * 40, "n" * 40)
    assert len(name) == 64 and name == upstream_name("a" * 40, "n" * 40)
    assert name != upstream_name("a" * 40 + "b", "n" * 40)
    assert upstream_name("f", None) == "f"
