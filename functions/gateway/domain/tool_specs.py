"""What the upstream is told about the tools a client executes that are not plain functions.

A ``custom`` tool becomes a function of one string, with its grammar in the description; the built-ins
(``local_shell``, ``shell``, ``apply_patch``) become functions whose parameters are the action the client's item
carries (``domain/calls.py`` turns the arguments back into that item).
"""

from __future__ import annotations

from typing import Any

from gateway.schemas.tools import CustomTool

CUSTOM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The tool's input, as raw text."}},
    "required": ["input"],
    "additionalProperties": False,
}


def custom_description(tool: CustomTool) -> str:
    text = tool.description or f"The {tool.name} tool."
    text += "\n\nCall it with one argument, `input`: raw text passed to the tool verbatim (not JSON)."
    if tool.format is not None and tool.format.type == "grammar":
        text += f"\nThe input must match this {tool.format.syntax} grammar:\n{tool.format.definition}"
    return text


BUILTINS: dict[str, tuple[str, dict[str, Any]]] = {
    "local_shell": (
        "Run a command on the user's machine and get its output.",
        {
            "type": "object",
            "properties": {
                "command": {"type": "array", "items": {"type": "string"}, "description": "argv of the command"},
                "working_directory": {"type": "string"},
                "timeout_ms": {"type": "integer"},
                "env": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "required": ["command"],
        },
    ),
    "shell": (
        "Run shell commands on the user's machine and get their output.",
        {
            "type": "object",
            "properties": {
                "commands": {"type": "array", "items": {"type": "string"}, "description": "commands to run in order"},
                "timeout_ms": {"type": "integer"},
                "max_output_length": {"type": "integer"},
            },
            "required": ["commands"],
        },
    ),
    "apply_patch": (
        "Create, update or delete a file. For update_file, `diff` is a V4A diff of the file: hunks of context "
        "lines (' '), removed lines ('-') and added lines ('+'), each hunk introduced by '@@' and a nearby line. "
        "For create_file, `diff` holds the new file's lines, each prefixed with '+'.",
        {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["create_file", "update_file", "delete_file"]},
                "path": {"type": "string"},
                "diff": {"type": "string"},
            },
            "required": ["type", "path"],
        },
    ),
}
