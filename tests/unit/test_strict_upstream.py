"""The strict upstream refuses strict schemas exactly where OpenAI's strict mode does."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.strict import refusal, violation
from tests.fakes.upstream import FakeUpstream, text_reply

CLOSED = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": ["integer", "null"]}},
    "required": ["city", "days"],
    "additionalProperties": False,
}
NESTED_CLOSED = {
    "type": "object",
    "properties": {
        "stops": {"type": "array", "items": {"$ref": "#/$defs/Stop"}},
        "when": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["stops", "when"],
    "additionalProperties": False,
    "$defs": {
        "Stop": {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
            "additionalProperties": False,
        }
    },
}


@pytest.mark.parametrize(
    "schema",
    [
        CLOSED,
        NESTED_CLOSED,
        {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
        # A property named like a keyword is still just a property.
        {
            "type": "object",
            "properties": {"properties": {"type": "string"}, "items": {"type": "string"}},
            "required": ["properties", "items"],
            "additionalProperties": False,
        },
    ],
)
def test_strict_compatible_schemas_pass(schema: dict[str, Any]) -> None:
    assert violation(schema) is None


MISSING_ADDITIONAL = "'additionalProperties' is required to be supplied and to be false."
MISSING_REQUIRED = "'required' is required to be supplied and to be an array including every key in properties."


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        # LangChain's @tool with an optional argument: closed in no way, `unit` optional
        (
            {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
                "required": ["city"],
            },
            f"In context=(), {MISSING_ADDITIONAL}",
        ),
        (
            {**CLOSED, "required": ["city"]},
            f"In context=(), {MISSING_REQUIRED} Missing 'days'.",
        ),
        (
            {**CLOSED, "required": ["city", "days", "zip"]},
            "In context=(), 'required' must be an array that includes every key in `properties`. "
            "Extra required key 'zip' supplied.",
        ),
        (
            {**CLOSED, "additionalProperties": True},
            f"In context=(), {MISSING_ADDITIONAL}",
        ),
        (
            {**NESTED_CLOSED, "$defs": {"Stop": {"type": "object", "properties": {"name": {"type": "string"}}}}},
            f"In context=('$defs', 'Stop'), {MISSING_ADDITIONAL}",
        ),
        (
            {
                **NESTED_CLOSED,
                "properties": {
                    "stops": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}},
                    "when": {"type": "string"},
                },
            },
            f"In context=('properties', 'stops', 'items'), {MISSING_ADDITIONAL}",
        ),
        (
            {
                **NESTED_CLOSED,
                "properties": {
                    "stops": {"type": "string"},
                    "when": {"anyOf": [{"type": "null"}, {"properties": {"at": {"type": "string"}}}]},
                },
            },
            f"In context=('properties', 'when', 'anyOf', '1'), {MISSING_ADDITIONAL}",
        ),
        # A nullable object given as a type list is still an object
        (
            {**CLOSED, "properties": {"city": {"type": "string"}, "days": {"type": ["object", "null"]}}},
            f"In context=('properties', 'days', 'type', '0'), {MISSING_ADDITIONAL}",
        ),
    ],
)
def test_schemas_strict_mode_rejects_say_why_and_where(schema: dict[str, Any], expected: str) -> None:
    assert violation(schema) == expected


OPEN = {"type": "object", "properties": {"city": {"type": "string"}}}


def _tool(name: str, parameters: dict[str, Any], strict: bool | None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, "parameters": parameters}
    if strict is not None:
        function["strict"] = strict
    return {"type": "function", "function": function}


def test_a_strict_tool_with_an_open_schema_is_refused_with_openais_error() -> None:
    body = {"tools": [_tool("ok", CLOSED, True), _tool("get_weather", OPEN, True)]}

    assert refusal(body) == {
        "error": {
            "message": f"Invalid schema for function 'get_weather': In context=(), {MISSING_ADDITIONAL}",
            "type": "invalid_request_error",
            "param": "tools[1].function.parameters",
            "code": "invalid_function_parameters",
        }
    }


@pytest.mark.parametrize("strict", [False, None])
def test_an_open_schema_is_accepted_when_the_tool_is_not_strict(strict: bool | None) -> None:
    assert refusal({"tools": [_tool("get_weather", OPEN, strict)]}) is None


def test_a_strict_response_format_with_an_open_schema_is_refused() -> None:
    strict_format = {"type": "json_schema", "json_schema": {"name": "Answer", "schema": OPEN, "strict": True}}
    loose_format = {"type": "json_schema", "json_schema": {"name": "Answer", "schema": OPEN, "strict": False}}

    refused = refusal({"response_format": strict_format})

    assert refused is not None
    assert refused["error"]["param"] == "response_format"
    assert (
        refused["error"]["message"]
        == f"Invalid schema for response_format 'Answer': In context=(), {MISSING_ADDITIONAL}"
    )
    assert refusal({"response_format": loose_format}) is None
    assert (
        refusal({"response_format": {**strict_format, "json_schema": {"name": "A", "schema": CLOSED, "strict": True}}})
        is None
    )


def test_the_strict_fake_refuses_without_using_up_its_script() -> None:
    upstream = FakeUpstream(strict=True)
    upstream.will(text_reply("scripted"))

    refused = upstream.respond({"messages": [], "tools": [_tool("f", OPEN, True)]}, {})
    answered = upstream.respond({"messages": [], "tools": [_tool("f", OPEN, False)]}, {})

    assert refused.status == 400
    assert refused.body is not None
    assert refused.body["error"]["code"] == "invalid_function_parameters"
    assert answered.status == 200
    assert b"scripted" in b"".join(answered.frames())
    assert len(upstream.requests) == 2


def test_the_default_fake_is_lenient() -> None:
    upstream = FakeUpstream()

    assert upstream.respond({"messages": [], "tools": [_tool("f", OPEN, True)]}, {}).status == 200
