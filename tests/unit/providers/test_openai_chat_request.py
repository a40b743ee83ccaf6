"""Every Responses parameter, mapped onto the exact Chat Completions body the upstream receives."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.domain.context import normalize_input
from gateway.domain.tools import build_toolset
from gateway.domain.transcript import to_upstream
from gateway.domain.upstream import ModelRequest
from gateway.errors import InvalidRequestError
from gateway.providers.openai_chat_request import chat_body
from gateway.schemas.requests import ResponseCreateParams


def body_for(max_tokens_field: str = "max_completion_tokens", **params: Any) -> dict[str, Any]:
    parsed = ResponseCreateParams.model_validate({"model": "gpt-x", **params})
    items = normalize_input(parsed.input, "0" * 24, {})
    tools = build_toolset(parsed, items, refuse_hosted=False)
    request = ModelRequest("gpt-x", parsed.instructions, to_upstream(items), parsed, tools)
    return chat_body(request, max_tokens_field=max_tokens_field)


def test_minimal_body() -> None:
    assert body_for(input="hi") == {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_sampling_and_limits() -> None:
    body = body_for(
        input="hi",
        instructions="Be terse.",
        max_output_tokens=100,
        temperature=0.2,
        top_p=0.8,
        seed=7,
        stop=["END"],
        top_k=40,
        repetition_penalty=1.1,
        reasoning={"effort": "high", "summary": "auto"},
        text={"verbosity": "low"},
        user="u",
        safety_identifier="s",
        prompt_cache_key="k",
        prompt_cache_retention="24h",
        service_tier="flex",
        metadata={"not": "sent"},
    )
    assert body == {
        "model": "gpt-x",
        "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_completion_tokens": 100,
        "temperature": 0.2,
        "top_p": 0.8,
        "seed": 7,
        "stop": ["END"],
        "reasoning_effort": "high",
        "verbosity": "low",
        "user": "u",
        "safety_identifier": "s",
        "prompt_cache_key": "k",
        "prompt_cache_retention": "24h",
        "service_tier": "flex",
        "top_k": 40,
        "repetition_penalty": 1.1,
    }


def test_max_tokens_field_is_configurable_per_upstream() -> None:
    assert body_for("max_tokens", input="hi", max_output_tokens=32)["max_tokens"] == 32


def test_text_formats() -> None:
    schema = {"type": "object", "properties": {}}
    fmt = {"type": "json_schema", "name": "out", "schema": schema, "strict": True, "description": "d"}
    assert body_for(input="hi", text={"format": fmt})["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": schema, "strict": True, "description": "d"},
    }
    assert body_for(input="hi", text={"format": {"type": "json_object"}})["response_format"] == {"type": "json_object"}
    assert "response_format" not in body_for(input="hi", text={"format": {"type": "text"}})


TOOLS = [
    {"type": "function", "name": "a", "parameters": {"type": "object"}},
    {"type": "function", "name": "b", "description": "bee", "strict": False},
]


@pytest.mark.parametrize(
    ("choice", "expected_choice", "names"),
    [
        ("auto", "auto", ["a", "b"]),
        ("none", "none", ["a", "b"]),
        ("required", "required", ["a", "b"]),
        ({"type": "function", "name": "b"}, {"type": "function", "function": {"name": "b"}}, ["a", "b"]),
        (
            {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "a"}]},
            "required",
            ["a"],
        ),
    ],
)
def test_tools_and_tool_choice(choice: Any, expected_choice: Any, names: list[str]) -> None:
    body = body_for(input="hi", tools=TOOLS, tool_choice=choice, parallel_tool_calls=False)
    assert body["tool_choice"] == expected_choice
    assert [tool["function"]["name"] for tool in body["tools"]] == names
    assert body["parallel_tool_calls"] is False
    if "b" in names:
        assert body["tools"][-1] == {
            "type": "function",
            "function": {"name": "b", "description": "bee", "strict": False},
        }
    # ``a`` left strict out and its schema is not strict-compatible: it goes upstream non-strict.
    assert body["tools"][0]["function"] == {"name": "a", "parameters": {"type": "object"}, "strict": False}


CLOSED = {
    "type": "object",
    "properties": {"q": {"type": "string"}, "opts": {"type": "array", "items": {"$ref": "#/$defs/o"}}},
    "required": ["q", "opts"],
    "additionalProperties": False,
    "$defs": {
        "o": {
            "type": "object",
            "properties": {"k": {"type": "string"}},
            "required": ["k"],
            "additionalProperties": False,
        }
    },
}
LANGCHAIN = {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer"}}, "required": ["q"]}
NESTED_OPEN = {**CLOSED, "$defs": {"o": {"type": "object", "properties": {"k": {"type": "string"}}}}}
NULLABLE_OBJECT = {
    "type": "object",
    "properties": {"meta": {"type": ["object", "null"]}},
    "required": ["meta"],
    "additionalProperties": False,
}
NAMED_PROPERTIES = {
    "type": "object",
    "properties": {"properties": {"type": "string"}},
    "required": ["properties"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("strict", "schema", "sent"),
    [
        (None, CLOSED, True),  # already strict-compatible: strict, as OpenAI normalises
        (None, LANGCHAIN, False),  # an optional property: strict mode would reject it
        (None, NESTED_OPEN, False),  # an open object deep inside
        (None, NULLABLE_OBJECT, False),  # ["object", "null"] is an object too, and this one is open
        (None, NAMED_PROPERTIES, True),  # a property named "properties" is not a schema keyword
        (None, None, False),
        (True, LANGCHAIN, True),  # the client's own choice always stands
        (False, CLOSED, False),
    ],
)
def test_strict_only_where_the_schema_allows_it_or_the_client_asked(
    strict: bool | None, schema: dict[str, Any] | None, sent: bool
) -> None:
    tool: dict[str, Any] = {"type": "function", "name": "f"}
    if strict is not None:
        tool["strict"] = strict
    if schema is not None:
        tool["parameters"] = schema
    assert body_for(input="hi", tools=[tool])["tools"][0]["function"]["strict"] is sent


def test_no_tools_means_no_tool_fields() -> None:
    body = body_for(input="hi", parallel_tool_calls=False)
    assert "tools" not in body and "tool_choice" not in body and "parallel_tool_calls" not in body


def test_images_and_files_become_content_parts() -> None:
    content = [
        {"type": "input_text", "text": "Look:"},
        {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "low"},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "original"},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
        {"type": "input_file", "file_id": "file-1"},
    ]
    [message] = body_for(input=[{"role": "user", "content": content}])["messages"]
    assert message == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Look:"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "high"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"}},
            {"type": "file", "file": {"file_id": "file-1"}},
        ],
    }


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_file", "file_url": "https://example.com/a.pdf"},
        {"type": "input_image", "file_id": "file-1"},
    ],
)
def test_unsupported_parts_are_refused(part: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        body_for(input=[{"role": "user", "content": [part]}])
    assert caught.value.code == "unsupported_parameter" and caught.value.param == "input"


def test_roles_history_and_tool_turns() -> None:
    history = [
        {"role": "developer", "content": "Dev rules."},
        {"role": "system", "content": "Sys rules."},
        {"role": "user", "content": "q"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"role": "assistant", "content": "Let me check."},
        {"type": "function_call", "call_id": "c1", "name": "a", "arguments": "{}"},
        {"type": "function_call", "call_id": "c2", "name": "b", "arguments": '{"x":1}'},
        {"type": "function_call_output", "call_id": "c1", "output": "one"},
        {"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "two"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Done"}, {"type": "refusal", "refusal": "No."}],
        },
    ]
    assert body_for(input=history)["messages"] == [
        {"role": "system", "content": "Dev rules."},
        {"role": "system", "content": "Sys rules."},
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "b", "arguments": '{"x":1}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "two"}]},
        {"role": "assistant", "content": "Done", "refusal": "No."},
    ]
