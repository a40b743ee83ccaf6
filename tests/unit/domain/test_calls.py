"""A model's function call → the item the client expects, by the kind of tool it called."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from gateway.domain.calls import call_item, custom_input
from gateway.domain.tools import ToolKind, UpstreamTool
from gateway.schemas.items import ItemStatus


def tool(kind: ToolKind, upstream: str, client: str | None = None, namespace: str | None = None) -> UpstreamTool:
    return UpstreamTool(upstream, kind, client or upstream, None, None, strict=False, namespace=namespace)


def made(
    declared: UpstreamTool | None, arguments: str, *, name: str = "up", status: ItemStatus = "completed"
) -> dict[str, Any]:
    return call_item(declared, "item_1", "call_1", name, arguments, status).model_dump()


# custom_input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"input": "*** Begin Patch\\n"}', "*** Begin Patch\n"),
        ('{"input": "caf\\u00e9"}', "café"),
        ('{"input": ""}', ""),
        ('{"patch": "only string"}', "only string"),  # another key: its one string is the input
        ('{"patch": "x", "n": 1}', "x"),
        ('{"a": "x", "b": "y"}', '{"a": "x", "b": "y"}'),  # two strings: which one? keep the raw text
        ('{"input": 5}', '{"input": 5}'),
        ("*** Begin Patch", "*** Begin Patch"),  # not JSON at all: taken at its word
        ('["x"]', '["x"]'),
        ("", ""),
    ],
)
def test_complete_arguments(arguments: str, expected: str) -> None:
    assert custom_input(arguments, partial=False) == expected


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"input": "*** Begin', "*** Begin"),
        ('{"input": "line\\nnext', "line\nnext"),
        ('{"input": "done"}', "done"),
        ('{"inp', ""),  # the key is not known yet
        ('{"input": ', ""),
        ('{"patch": "x', ""),  # another key: only known to be the input once the JSON is complete
        ("*** Begin", ""),  # not JSON: the raw text is only given at the end
        ("", ""),
    ],
)
def test_partial_arguments(arguments: str, expected: str) -> None:
    assert custom_input(arguments, partial=True) == expected


def test_partial_input_only_grows_as_arguments_arrive() -> None:
    arguments = '{"input": "+h\\u00e9llo\\n"}'
    seen = [custom_input(arguments[:end], partial=True) for end in range(len(arguments) + 1)]
    assert seen[-1] == "+héllo\n"
    for shorter, longer in pairwise(seen):
        # an escape cut in half may decode to less for a moment, never to different text
        assert longer.startswith(shorter) or shorter.startswith(longer)


# call_item ----------------------------------------------------------------------------------------------------


def test_an_undeclared_name_is_a_function_call_under_that_name() -> None:
    assert made(None, '{"a": 1}', name="mystery") == {
        "type": "function_call",
        "id": "item_1",
        "call_id": "call_1",
        "name": "mystery",
        "arguments": '{"a": 1}',
        "status": "completed",
    }


def test_a_namespaced_function_comes_back_under_its_client_name_and_namespace() -> None:
    item = made(tool("function", "mcp__create_issue", "create_issue", "mcp"), "{}", name="mcp__create_issue")
    assert (item["type"], item["name"], item["namespace"], item["arguments"]) == (
        "function_call",
        "create_issue",
        "mcp",
        "{}",
    )


def test_a_plain_function_has_no_namespace() -> None:
    assert "namespace" not in made(tool("function", "f"), "{}", name="f")


@pytest.mark.parametrize("status", ["completed", "incomplete"])
def test_a_function_call_keeps_the_status_it_closed_with(status: ItemStatus) -> None:
    assert made(tool("function", "f"), '{"a":', name="f", status=status)["status"] == status


def test_a_custom_tool_call_carries_the_decoded_input() -> None:
    item = made(tool("custom", "ns__patch", "patch", "ns"), '{"input": "+a\\n"}')
    assert item == {
        "type": "custom_tool_call",
        "id": "item_1",
        "call_id": "call_1",
        "name": "patch",
        "input": "+a\n",
        "namespace": "ns",
    }


def test_local_shell_is_an_exec_action() -> None:
    # the only action local_shell has: a model that names another type still means exec
    item = made(tool("local_shell", "local_shell"), '{"type": "run", "command": ["ls", "-l"], "timeout_ms": 100}')
    assert item["type"] == "local_shell_call"
    assert item["action"]["type"] == "exec"
    assert (item["action"]["command"], item["action"]["timeout_ms"]) == (["ls", "-l"], 100)
    assert (item["id"], item["call_id"], item["status"]) == ("item_1", "call_1", "completed")


def test_shell_carries_its_commands() -> None:
    item = made(tool("shell", "shell"), '{"commands": ["pwd", "ls"]}', status="incomplete")
    assert item["type"] == "shell_call"
    assert item["action"]["commands"] == ["pwd", "ls"]
    assert item["status"] == "incomplete"


@pytest.mark.parametrize(("status", "expected"), [("completed", "completed"), ("incomplete", "in_progress")])
def test_apply_patch_carries_its_operation(status: ItemStatus, expected: str) -> None:
    # apply_patch_call's status is in_progress | completed only: a cut-off call is not completed
    item = made(
        tool("apply_patch", "apply_patch"), '{"type": "create_file", "path": "a.txt", "diff": "+x"}', status=status
    )
    assert item["type"] == "apply_patch_call"
    assert item["operation"] == {"type": "create_file", "path": "a.txt", "diff": "+x"}
    assert item["status"] == expected


@pytest.mark.parametrize(
    ("kind", "arguments"),
    [
        ("shell", '{"cmd": "ls"}'),  # wrong shape
        ("shell", '{"commands": "ls"'),  # cut off
        ("local_shell", "[1, 2]"),  # not an object
        ("local_shell", ""),  # nothing at all
        ("apply_patch", '{"type": "rename_file", "path": "a"}'),
    ],
)
def test_builtin_arguments_that_do_not_fit_leave_a_function_call(kind: ToolKind, arguments: str) -> None:
    item = made(tool(kind, "up"), arguments, name="up", status="incomplete")
    assert item == {
        "type": "function_call",
        "id": "item_1",
        "call_id": "call_1",
        "name": "up",
        "arguments": arguments,
        "status": "incomplete",
    }
