"""Conformance §7 items 1-8: the shape of a created response and the echo of request values."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fakes.upstream import FakeUpstream, text_reply, usage_chunk

REQUIRED = (
    "id",
    "object",
    "created_at",
    "error",
    "incomplete_details",
    "instructions",
    "model",
    "tools",
    "output",
    "parallel_tool_calls",
    "metadata",
    "tool_choice",
    "temperature",
    "top_p",
    "status",
    "store",
    "background",
    "text",
    "truncation",
    "usage",
    "previous_response_id",
    "completed_at",
    "max_output_tokens",
    "max_tool_calls",
    "prompt_cache_key",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "top_logprobs",
    "conversation",
    "presence_penalty",
    "frequency_penalty",
)


def test_minimal_request_completes(client: TestClient, upstream: FakeUpstream) -> None:
    # WHEN a minimal request is made
    reply = client.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hi"})

    # THEN it is a completed response with OpenAI's id format and timestamps
    assert reply.status_code == 200
    body = reply.json()
    assert body["object"] == "response"
    assert body["id"].startswith("resp_") and len(body["id"]) == 55
    assert body["status"] == "completed"
    assert body["completed_at"] >= body["created_at"]
    assert body["error"] is None and body["incomplete_details"] is None
    assert "output_text" not in body
    # and the upstream was called with the configured key, streaming
    assert upstream.headers[-1]["authorization"] == "Bearer sk-upstream-test"
    assert upstream.last["stream"] is True


def test_every_field_is_present(client: TestClient) -> None:
    body = client.post("/v1/responses", json={"model": "m", "input": "hi"}).json()
    assert [field for field in REQUIRED if field not in body] == []


def test_defaults_are_echoed(client: TestClient) -> None:
    body = client.post("/v1/responses", json={"model": "m", "input": "hi"}).json()
    assert body["store"] is True
    assert body["background"] is False
    assert body["parallel_tool_calls"] is True
    assert body["tool_choice"] == "auto"
    assert body["tools"] == []
    assert body["truncation"] == "disabled"
    assert body["text"] == {"format": {"type": "text"}, "verbosity": "medium"}
    assert body["metadata"] == {}
    assert body["temperature"] == 1 and body["top_p"] == 1
    assert body["reasoning"] == {"effort": None, "summary": None}
    assert body["top_logprobs"] == 0


def test_message_items_have_openai_shape(client: TestClient) -> None:
    body = client.post("/v1/responses", json={"model": "m", "input": "hi"}).json()
    [message] = body["output"]
    assert message["id"].startswith("msg_")
    assert message["type"] == "message" and message["role"] == "assistant" and message["status"] == "completed"
    assert message["content"] == [{"type": "output_text", "text": "echo: hi", "annotations": [], "logprobs": []}]


def test_usage_adds_up_and_maps_details(client: TestClient, upstream: FakeUpstream) -> None:
    # GIVEN an upstream that reports cached and reasoning tokens
    upstream.will(text_reply("ok", usage=usage_chunk(prompt=120, completion=30, cached=100, reasoning=12)))

    usage = client.post("/v1/responses", json={"model": "m", "input": "hi"}).json()["usage"]

    assert usage == {
        "input_tokens": 120,
        "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 0},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 150,
    }


def test_input_forms_are_equivalent(client: TestClient) -> None:
    forms = [
        "hi",
        [{"role": "user", "content": "hi"}],
        [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
    ]
    shapes = []
    for form in forms:
        response_id = client.post("/v1/responses", json={"model": "m", "input": form}).json()["id"]
        items = client.get(f"/v1/responses/{response_id}/input_items").json()["data"]
        shapes.append([{key: value for key, value in item.items() if key != "id"} for item in items])
        assert all(item["id"].startswith("msg_") for item in items)
    assert shapes[0] == shapes[1] == shapes[2]
    assert shapes[0][0]["content"] == [{"type": "input_text", "text": "hi"}]


def test_request_values_are_echoed(client: TestClient) -> None:
    tool = {
        "type": "function",
        "name": "lookup",
        "description": "Look something up",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    }
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    request = {
        "model": "m",
        "input": "hi",
        "temperature": 0.3,
        "top_p": 0.9,
        "max_output_tokens": 64,
        "metadata": {"k": "v"},
        "instructions": "Be brief.",
        "tool_choice": {"type": "function", "name": "lookup"},
        "tools": [tool, {**tool, "name": "other", "strict": False}],
        "text": {"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}},
        "user": "u-1",
        "safety_identifier": "s-1",
        "prompt_cache_key": "ck",
        "service_tier": "flex",
        "top_logprobs": 3,
        "max_tool_calls": 5,
        "parallel_tool_calls": False,
        "truncation": "auto",
    }

    body = client.post("/v1/responses", json=request).json()

    for key in ("temperature", "top_p", "max_output_tokens", "metadata", "instructions", "user"):
        assert body[key] == request[key], key
    for key in ("safety_identifier", "prompt_cache_key", "service_tier", "top_logprobs", "max_tool_calls"):
        assert body[key] == request[key], key
    assert body["parallel_tool_calls"] is False and body["truncation"] == "auto"
    assert body["tool_choice"] == {"type": "function", "name": "lookup"}
    # strict left out: strict only for a strict-compatible schema (this one has an open object)
    assert body["tools"] == [{**tool, "strict": False}, {**tool, "name": "other", "strict": False}]
    assert body["text"]["format"] == {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}
