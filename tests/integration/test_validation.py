"""Conformance §7 items 9-17 and 59: bad input is a 400 in OpenAI's envelope naming the offending param."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fakes.upstream import FakeUpstream

BASE = {"model": "m", "input": "hi"}


def error_of(client: TestClient, body: Any, status: int = 400) -> dict[str, Any]:
    reply = client.post("/v1/responses", json=body)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize(
    ("extra", "param", "code"),
    [
        ({"max_output_tokens": 15}, "max_output_tokens", "integer_below_min_value"),
        ({"temperature": 2.1}, "temperature", "decimal_above_max_value"),
        ({"temperature": -1}, "temperature", "integer_below_min_value"),
        ({"top_p": 1.5}, "top_p", "decimal_above_max_value"),
        ({"temperature": "hot"}, "temperature", "invalid_type"),
        ({"temperature": "1.0"}, "temperature", "invalid_type"),
        ({"top_logprobs": 21}, "top_logprobs", "integer_above_max_value"),
        ({"prompt_cache_key": "k" * 65}, "prompt_cache_key", "string_above_max_length"),
        ({"safety_identifier": "s" * 65}, "safety_identifier", "string_above_max_length"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "array_above_max_length"),
        ({"truncation": "middle"}, "truncation", "invalid_value"),
        ({"service_tier": "gold"}, "service_tier", "invalid_value"),
        ({"include": ["nope"]}, "include[0]", "invalid_value"),
        ({"input": 5}, "input", "invalid_type"),
        ({"input": [{"type": "telepathy_call", "id": "x"}]}, "input[0].type", "invalid_value"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role", "invalid_value"),
        (
            {"input": [{"type": "function_call_output", "output": "x"}]},
            "input[0].call_id",
            "missing_required_parameter",
        ),
        ({"tools": [{"type": "function", "name": "bad name!"}]}, "tools[0].name", "invalid_value"),
        ({"text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name", "missing_required_parameter"),
        ({"tool_choice": "sometimes"}, "tool_choice", "invalid_value"),
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort", "invalid_value"),
    ],
)
def test_out_of_range_and_wrong_types_name_the_param(
    client: TestClient, extra: dict[str, Any], param: str, code: str
) -> None:
    error = error_of(client, {**BASE, **extra})
    assert (error["param"], error["code"], error["type"]) == (param, code, "invalid_request_error")
    assert error["message"]


def test_minimum_output_tokens_is_accepted(client: TestClient) -> None:
    assert client.post("/v1/responses", json={**BASE, "max_output_tokens": 16}).status_code == 200


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ({f"k{i}": "v" for i in range(17)}, "object_above_max_properties"),
        ({"k" * 65: "v"}, "property_name_above_max_length"),
        ({"k": "v" * 513}, "string_above_max_length"),
        ({"k": 1}, "invalid_type"),
        ("not-an-object", "invalid_type"),
    ],
)
def test_metadata_limits(client: TestClient, metadata: Any, code: str) -> None:
    error = error_of(client, {**BASE, "metadata": metadata})
    assert (error["param"], error["code"]) == ("metadata", code)


def test_unknown_top_level_field(client: TestClient) -> None:
    error = error_of(client, {**BASE, "frobnicate": True})
    assert error == {
        "message": "Unknown parameter: 'frobnicate'.",
        "type": "invalid_request_error",
        "param": "frobnicate",
        "code": "unknown_parameter",
    }


def test_malformed_json(client: TestClient) -> None:
    reply = client.post(
        "/v1/responses", content=b'{"model": "m", "input": ', headers={"content-type": "application/json"}
    )
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and "parse the JSON body" in error["message"]
    assert error["param"] is None and error["code"] is None


def test_missing_model(client: TestClient) -> None:
    error = error_of(client, {"input": "hi"})
    assert (error["param"], error["code"]) == ("model", "missing_required_parameter")


def test_tool_choice_naming_no_declared_tool(client: TestClient) -> None:
    body = {**BASE, "tools": [{"type": "function", "name": "a"}], "tool_choice": {"type": "function", "name": "nope"}}
    assert error_of(client, body)["param"] == "tool_choice"


def test_chat_style_nested_tool(client: TestClient) -> None:
    tool = {"type": "function", "function": {"name": "a", "parameters": {}}}
    error = error_of(client, {**BASE, "tools": [tool]})
    assert error["message"] == "Missing required parameter: 'tools[0].name'."
    assert (error["param"], error["code"]) == ("tools[0].name", "missing_required_parameter")


def test_previous_response_and_conversation_together(client: TestClient) -> None:
    error = error_of(client, {**BASE, "previous_response_id": "resp_x", "conversation": "conv_x"})
    assert error["param"] == "conversation"


def test_background_needs_store(client: TestClient) -> None:
    error = error_of(client, {**BASE, "background": True, "store": False})
    assert error["param"] == "background"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tool_choice": {"type": "file_search"}}, "tool_choice"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
        ({"include": ["message.output_text.logprobs"]}, "include"),
        ({"stream_options": {"include_obfuscation": False}}, "stream_options"),
    ],
)
def test_what_the_gateway_cannot_honour_is_refused_not_dropped(
    client: TestClient, upstream: FakeUpstream, extra: dict[str, Any], param: str
) -> None:
    error = error_of(client, {**BASE, **extra})
    assert error["param"] == param
    assert upstream.requests == []


def test_validation_errors_on_stream_requests_are_plain_json(client: TestClient) -> None:
    reply = client.post("/v1/responses", json={**BASE, "stream": True, "temperature": 9})
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["error"]["param"] == "temperature"


def test_unknown_route_is_an_envelope(client: TestClient) -> None:
    reply = client.get("/v1/nothing-here")
    assert reply.status_code == 404
    assert set(reply.json()["error"]) == {"message", "type", "param", "code"}


def test_an_unknown_item_type_names_the_types_a_client_may_send(client: TestClient) -> None:
    error = error_of(client, {**BASE, "input": [{"type": "telepathy_call", "id": "x"}]})
    assert error["message"].startswith("Invalid value: 'telepathy_call'. Supported values are: 'message'")
    assert "'web_search_call'" in error["message"] and "'custom_tool_call_output'" in error["message"]
    assert "_tag" not in error["message"] and "'hosted'" not in error["message"]
