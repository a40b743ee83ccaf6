"""response_shell: the Response echoes its request field for field, with OpenAI's defaults (RESPONSES_API.md)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gateway.domain.echo import response_shell
from gateway.schemas.requests import ResponseCreateParams

CLOSED = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}
OPEN = {"type": "object", "properties": {"a": {"type": "string"}}}


def shell(status: str = "in_progress", **request: Any) -> dict[str, Any]:
    params = ResponseCreateParams.model_validate({"model": "m", **request})
    return response_shell(params, "resp_1", status).model_dump(mode="json")  # type: ignore[arg-type]


def test_an_empty_request_echoes_openais_defaults() -> None:
    before = int(time.time())
    echoed = shell()
    assert before <= echoed.pop("created_at") <= int(time.time())
    echoed.pop("usage")  # not echoed: the Response's own (zeros until it finishes)
    assert echoed == {
        "id": "resp_1",
        "object": "response",
        "status": "in_progress",
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "model": "m",
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "prompt_cache_key": None,
        "prompt_cache_retention": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "metadata": {},
        "conversation": None,
        "moderation": None,
    }
    assert "user" not in echoed  # OpenAI leaves the deprecated field out rather than sending null


def test_every_request_field_is_echoed() -> None:
    request = {
        "background": True,
        "instructions": "Be brief.",
        "max_output_tokens": 321,
        "max_tool_calls": 4,
        "parallel_tool_calls": False,
        "previous_response_id": "resp_parent",
        "prompt_cache_key": "k-1",
        "prompt_cache_retention": "24h",
        "reasoning": {"effort": "high", "summary": "detailed"},
        "safety_identifier": "user-42",
        "service_tier": "flex",
        "store": False,
        "temperature": 0.3,
        "top_p": 0.7,
        "presence_penalty": 0.5,
        "frequency_penalty": -1.25,
        "top_logprobs": 5,
        "truncation": "auto",
        "user": "legacy-user",
        "metadata": {"trace": "t1"},
        "tool_choice": "required",
    }
    echoed = shell("queued", **request)
    assert {key: echoed[key] for key in request} == request
    assert echoed["status"] == "queued"


@pytest.mark.parametrize(
    ("sent", "shown"),
    [(None, "default"), ("auto", "default"), ("default", "default"), ("priority", "priority"), ("scale", "scale")],
)
def test_service_tier_reports_the_tier_used(sent: str | None, shown: str) -> None:
    assert shell(service_tier=sent)["service_tier"] == shown


def test_zero_is_a_value_not_a_missing_one() -> None:
    echoed = shell(temperature=0, top_p=0, presence_penalty=0, top_logprobs=0)
    assert (echoed["temperature"], echoed["top_p"], echoed["presence_penalty"], echoed["top_logprobs"]) == (0, 0, 0, 0)


def test_reasoning_echoes_what_was_set_and_null_for_the_rest() -> None:
    assert shell(reasoning={"effort": "low"})["reasoning"] == {"effort": "low", "summary": None}
    assert shell(reasoning={"summary": "auto"})["reasoning"] == {"effort": None, "summary": "auto"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ({"verbosity": "low"}, {"format": {"type": "text"}, "verbosity": "low"}),
        ({"format": {"type": "json_object"}}, {"format": {"type": "json_object"}, "verbosity": "medium"}),
        (
            {
                "format": {"type": "json_schema", "name": "answer", "schema": CLOSED, "strict": True},
                "verbosity": "high",
            },
            {
                "format": {"type": "json_schema", "name": "answer", "schema": CLOSED, "strict": True},
                "verbosity": "high",
            },
        ),
        (
            {"format": {"type": "json_schema", "name": "answer", "schema": OPEN}},
            {
                "format": {"type": "json_schema", "name": "answer", "schema": OPEN, "strict": False},
                "verbosity": "medium",
            },
        ),
    ],
)
def test_text_format_and_verbosity(text: dict[str, Any], expected: dict[str, Any]) -> None:
    assert shell(text=text)["text"] == expected


@pytest.mark.parametrize(
    ("strict", "parameters", "echoed"),
    [
        (None, CLOSED, True),  # left out: strict when the schema already satisfies strict mode
        (None, OPEN, False),
        (False, CLOSED, False),  # set: as set
        (True, CLOSED, True),
    ],
)
def test_a_function_tool_echoes_the_strict_the_gateway_applies(
    strict: bool | None, parameters: dict[str, Any], echoed: bool
) -> None:
    tool = {"type": "function", "name": "f", "parameters": parameters} | ({} if strict is None else {"strict": strict})
    [shown] = shell(tools=[tool])["tools"]
    assert shown == {"type": "function", "name": "f", "description": None, "parameters": parameters, "strict": echoed}


def test_a_function_tools_private_fields_are_not_echoed() -> None:
    tool = {"type": "function", "name": "f", "description": "d", "parameters": CLOSED, "defer_loading": True}
    [shown] = shell(tools=[tool | {"allowed_callers": ["direct"]}])["tools"]
    assert shown == {"type": "function", "name": "f", "description": "d", "parameters": CLOSED, "strict": True}


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "s"}},
        {"type": "namespace", "name": "mcp", "tools": [{"type": "custom", "name": "c", "description": "x"}]},
        {"type": "shell", "environment": {"type": "local"}},
        {"type": "local_shell"},
        {"type": "apply_patch"},
        {"type": "web_search", "search_context_size": "low", "user_location": {"type": "approximate", "city": "Oslo"}},
        {"type": "tool_search", "execution": "client"},
    ],
)
def test_other_tools_are_echoed_as_declared(tool: dict[str, Any]) -> None:
    assert shell(tools=[tool])["tools"] == [tool]


def test_tools_keep_their_order() -> None:
    tools = [{"type": "local_shell"}, {"type": "function", "name": "f"}, {"type": "apply_patch"}]
    assert [tool["type"] for tool in shell(tools=tools)["tools"]] == ["local_shell", "function", "apply_patch"]


@pytest.mark.parametrize(
    "choice",
    [
        "none",
        "auto",
        "required",
        {"type": "function", "name": "f"},
        {"type": "custom", "name": "apply_patch"},
        {"type": "shell"},
        {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "f"}]},
        {"type": "web_search_preview"},
    ],
)
def test_tool_choice_is_echoed_in_the_form_it_was_sent(choice: str | dict[str, Any]) -> None:
    assert shell(tool_choice=choice)["tool_choice"] == choice
