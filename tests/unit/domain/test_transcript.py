"""``to_upstream``: every tool call kind folds into function calls and outputs; opaque history disappears."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import TypeAdapter

from gateway.domain.transcript import check_tool_pairing, to_upstream
from gateway.errors import InvalidRequestError
from gateway.schemas.items import FunctionCall, FunctionCallOutput, Message
from gateway.schemas.tool_items import ContextItem, StoredItem

ITEMS: TypeAdapter[list[ContextItem]] = TypeAdapter(list[StoredItem])


def items(*raw: dict[str, Any]) -> list[ContextItem]:
    return ITEMS.validate_python(list(raw))


def test_every_call_kind_becomes_a_function_call_with_its_output() -> None:
    context = items(
        {"type": "message", "role": "user", "content": "fix it", "phase": None},
        {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin Patch\n"},
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "Done!"},
        {"type": "shell_call", "call_id": "c2", "action": {"commands": ["ls"], "timeout_ms": 1000}},
        {
            "type": "shell_call_output",
            "call_id": "c2",
            "output": [{"stdout": "a.py\n", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}],
        },
        {"type": "local_shell_call", "call_id": "c3", "status": "completed", "action": {"command": ["pwd"]}},
        {"type": "local_shell_call_output", "id": "c3", "output": "/tmp"},
        {
            "type": "apply_patch_call",
            "call_id": "c4",
            "status": "completed",
            "operation": {"type": "delete_file", "path": "x"},
        },
        {"type": "apply_patch_call_output", "call_id": "c4", "status": "failed", "output": "no such file"},
        {"type": "function_call", "call_id": "c5", "name": "create_issue", "namespace": "mcp", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c5", "output": "ok"},
    )
    upstream = to_upstream(context)
    calls = [(item.name, json.loads(item.arguments)) for item in upstream if isinstance(item, FunctionCall)]
    assert calls == [
        ("apply_patch", {"input": "*** Begin Patch\n"}),
        ("shell", {"commands": ["ls"], "timeout_ms": 1000}),
        ("local_shell", {"command": ["pwd"], "env": {}}),
        ("apply_patch", {"type": "delete_file", "path": "x"}),
        ("mcp__create_issue", {}),
    ]
    outputs = {item.call_id: item.output for item in upstream if isinstance(item, FunctionCallOutput)}
    assert outputs == {
        "c1": "Done!",
        "c2": "exit code 0\nstdout:\na.py\n\nstderr:\n",
        "c3": "/tmp",
        "c4": "failed: no such file",
        "c5": "ok",
    }
    assert isinstance(upstream[0], Message)


def test_hosted_history_and_tool_search_items_are_not_sent_upstream() -> None:
    context = items(
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "q"}},
        {"type": "tool_search_call", "arguments": {"query": "github"}, "execution": "client"},
        {"type": "tool_search_output", "tools": [], "execution": "client"},
        {"type": "additional_tools", "role": "developer", "tools": []},
        {"type": "message", "role": "user", "content": "hi"},
    )
    assert [item.type for item in to_upstream(context)] == ["message"]


def test_pairing_covers_every_call_kind() -> None:
    call = items({"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "x"})
    with pytest.raises(InvalidRequestError, match="No tool output found for function call c1"):
        check_tool_pairing(call, [])
    stray = items({"type": "shell_call_output", "call_id": "zz", "output": []})
    with pytest.raises(InvalidRequestError, match="call_id zz"):
        check_tool_pairing([], stray)
    answered = items({"type": "local_shell_call_output", "id": "c3", "output": "/"})
    shell = items({"type": "local_shell_call", "call_id": "c3", "status": "completed", "action": {"command": ["pwd"]}})
    check_tool_pairing(shell, answered)
