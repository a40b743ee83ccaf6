"""Conformance through the HTTP app with ``bedrock/…`` models: the real app, store (moto) and Bedrock adapter,
with Bedrock faked inside botocore (real event-stream frames, exact request JSON recorded)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.providers.registry import ProviderRegistry
from tests.conftest import make_settings
from tests.fakes.bedrock import (
    FakeBedrock,
    error_reply,
    exception,
    message_start,
    message_stop,
    metadata,
    reasoning,
    stream,
    text,
    text_reply,
    tool_use,
)
from tests.sse import TEXT_EVENTS, by_type, comparable
from tests.sse import stream as sse_stream

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
MODEL = f"bedrock/{CLAUDE}"
NOVA = "bedrock/us.amazon.nova-pro-v1:0"
TERMINAL = {"response.completed", "response.incomplete", "response.failed"}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def bedrock() -> FakeBedrock:
    return FakeBedrock()


@pytest.fixture
def api(aws: None, bedrock: FakeBedrock) -> Iterator[TestClient]:
    """The real app whose ``bedrock`` provider talks to the fake Bedrock client."""
    settings = make_settings()
    registry = ProviderRegistry(settings, bedrock_client=bedrock.client())
    app = create_app(build_services(settings, providers=registry))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def create(api: TestClient, **body: Any) -> dict[str, Any]:
    reply = api.post("/v1/responses", json={"model": MODEL, **body})
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


# create and stream -----------------------------------------------------------------------------------------


def test_a_bedrock_model_answers_with_a_completed_message(api: TestClient, bedrock: FakeBedrock) -> None:
    # GIVEN Bedrock answers in two pieces
    bedrock.add(text_reply("Hello", " there", usage=(12, 5)))

    # WHEN a minimal request names a bedrock/ model
    body = create(api, input="hi", instructions="Be brief.")

    # THEN the model id went to ConverseStream unchanged, with the instructions as system text
    assert bedrock.model_ids == [CLAUDE]
    assert bedrock.last_request == {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "system": [{"text": "Be brief."}],
    }
    # AND the response is a completed assistant message with usage
    assert body["status"] == "completed" and body["model"] == MODEL
    assert body["error"] is None and body["incomplete_details"] is None
    [message] = body["output"]
    assert message["id"].startswith("msg_") and message["status"] == "completed"
    assert message["content"] == [{"type": "output_text", "text": "Hello there", "annotations": [], "logprobs": []}]
    assert body["usage"] == {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 17,
    }


def test_streamed_event_sequence(api: TestClient, bedrock: FakeBedrock) -> None:
    bedrock.add(text_reply("Hel", "lo", " world"))

    events = sse_stream(api, {"model": MODEL, "input": "hi"})

    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created" and events[1]["type"] == "response.in_progress"
    assert events[0]["response"]["output"] == [] and events[0]["response"]["usage"]["total_tokens"] == 0
    assert [event["type"] for event in events] == TEXT_EVENTS
    grouped = by_type(events)
    joined = "".join(delta["delta"] for delta in grouped["response.output_text.delta"])
    final = events[-1]["response"]
    assert joined == grouped["response.output_text.done"][0]["text"] == final["output"][0]["content"][0]["text"]
    assert final["output"] == [event["item"] for event in grouped["response.output_item.done"]]


def test_streamed_and_buffered_results_are_identical(api: TestClient, bedrock: FakeBedrock) -> None:
    reply = stream(
        message_start(),
        reasoning(0, "Think", "ing.", signature="sig-1"),
        text(1, "Sunny", " today."),
        tool_use(2, "tooluse_1", "get_weather", '{"city":', '"Paris"}'),
        message_stop("tool_use"),
        metadata(30, 9, cache_read=20),
    )
    bedrock.add(reply, reply)
    body = {"model": MODEL, "input": "Weather?", "tools": [WEATHER], "reasoning": {"effort": "low"}}

    streamed = sse_stream(api, body)[-1]["response"]
    buffered = create(api, **{key: value for key, value in body.items() if key != "model"})

    assert comparable(streamed) == comparable(buffered)
    assert [item["type"] for item in buffered["output"]] == ["reasoning", "message", "function_call"]
    assert bedrock.requests[0] == bedrock.requests[1]


def test_streamed_response_is_retrievable_and_equal(api: TestClient, bedrock: FakeBedrock) -> None:
    bedrock.add(text_reply("stored"))
    final = sse_stream(api, {"model": MODEL, "input": "hi"})[-1]["response"]

    assert api.get(f"/v1/responses/{final['id']}").json() == final


@pytest.mark.parametrize(
    ("stop_reason", "reason"),
    [
        ("max_tokens", "max_output_tokens"),
        ("content_filtered", "content_filter"),
        ("guardrail_intervened", "content_filter"),
    ],
)
def test_cut_off_answers_are_incomplete(api: TestClient, bedrock: FakeBedrock, stop_reason: str, reason: str) -> None:
    bedrock.add(text_reply("Once upon a", stop_reason=stop_reason))

    events = sse_stream(api, {"model": MODEL, "input": "story", "max_output_tokens": 16})

    last = events[-1]
    assert last["type"] == "response.incomplete"
    assert last["response"]["incomplete_details"] == {"reason": reason}
    assert last["response"]["output"][0]["status"] == "incomplete"
    assert bedrock.last_request["inferenceConfig"] == {"maxTokens": 16}


# functions ---------------------------------------------------------------------------------------------------


def test_tool_round_trip_with_previous_response_id(api: TestClient, bedrock: FakeBedrock) -> None:
    # GIVEN the model calls a tool
    bedrock.add(
        stream(
            message_start(),
            tool_use(0, "tooluse_7", "get_weather", '{"city": "Paris"}'),
            message_stop("tool_use"),
            metadata(),
        )
    )
    first = create(api, input="Weather in Paris?", tools=[WEATHER], tool_choice="required")
    [call] = first["output"]
    assert call["type"] == "function_call" and call["id"].startswith("fc_")
    assert call["call_id"] == "tooluse_7" and json.loads(call["arguments"]) == {"city": "Paris"}
    assert bedrock.last_request["toolConfig"]["toolChoice"] == {"any": {}}

    # WHEN its output is sent back, chained to the first response
    bedrock.add(text_reply("It is 18C in Paris."))
    second = create(
        api,
        previous_response_id=first["id"],
        tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": "tooluse_7", "output": "18C"}],
    )

    # THEN Bedrock saw the whole exchange as toolUse / toolResult turns, and the answer is a message
    assert bedrock.last_request["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "tooluse_7", "name": "get_weather", "input": {"city": "Paris"}}}],
        },
        {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_7", "content": [{"text": "18C"}]}}]},
    ]
    assert second["previous_response_id"] == first["id"]
    assert second["output"][0]["content"][0]["text"] == "It is 18C in Paris."


def test_parallel_tool_calls_false_gives_at_most_one_call(api: TestClient, bedrock: FakeBedrock) -> None:
    bedrock.add(
        stream(
            message_start(),
            tool_use(0, "tooluse_1", "get_weather", '{"city":"Paris"}'),
            tool_use(1, "tooluse_2", "get_weather", '{"city":"Oslo"}'),
            message_stop("tool_use"),
            metadata(),
        )
    )

    body = create(api, input="Paris and Oslo?", tools=[WEATHER], parallel_tool_calls=False)

    assert [item["call_id"] for item in body["output"] if item["type"] == "function_call"] == ["tooluse_1"]


def test_structured_output_without_native_support_is_the_message_text(api: TestClient, bedrock: FakeBedrock) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    bedrock.add(
        stream(
            message_start(),
            tool_use(0, "tooluse_1", "place", '{"city": "Paris"}'),
            message_stop("tool_use"),
            metadata(),
        )
    )

    reply = api.post(
        "/v1/responses",
        json={
            "model": NOVA,
            "input": "Where?",
            "text": {"format": {"type": "json_schema", "name": "place", "schema": schema}},
        },
    )

    body = reply.json()
    assert body["status"] == "completed"
    [message] = body["output"]
    assert message["type"] == "message" and json.loads(message["content"][0]["text"]) == {"city": "Paris"}
    assert body["text"]["format"]["name"] == "place"


# reasoning ---------------------------------------------------------------------------------------------------

SIGNED_REASONING = stream(
    message_start(),
    reasoning(0, "The user wants ", "weather.", signature="EqQBCkgIARAB=="),
    tool_use(1, "tooluse_1", "get_weather", '{"city":"Paris"}'),
    message_stop("tool_use"),
    metadata(),
)
SENT_BACK = {"reasoningContent": {"reasoningText": {"text": "The user wants weather.", "signature": "EqQBCkgIARAB=="}}}


def test_reasoning_signature_round_trips_through_storage(api: TestClient, bedrock: FakeBedrock) -> None:
    # GIVEN a stored response whose reasoning Bedrock signed
    bedrock.add(SIGNED_REASONING)
    first = create(api, input="Weather?", tools=[WEATHER], reasoning={"effort": "low"})
    reasoning_item = first["output"][0]
    assert reasoning_item["type"] == "reasoning" and reasoning_item["id"].startswith("rs_")
    assert reasoning_item["content"] == [{"type": "reasoning_text", "text": "The user wants weather."}]
    assert reasoning_item["summary"] == []
    assert reasoning_item.get("encrypted_content") is None  # not asked for

    # WHEN the conversation continues with previous_response_id
    bedrock.add(text_reply("18C."))
    create(
        api,
        previous_response_id=first["id"],
        tools=[WEATHER],
        reasoning={"effort": "low"},
        input=[{"type": "function_call_output", "call_id": "tooluse_1", "output": "18C"}],
    )

    # THEN the signed reasoning goes back to Bedrock unchanged, ahead of the tool use
    assert bedrock.last_request["messages"][1]["content"][0] == SENT_BACK


def test_stateless_clients_get_and_return_encrypted_content(api: TestClient, bedrock: FakeBedrock) -> None:
    # GIVEN a store:false request that asks for reasoning.encrypted_content
    bedrock.add(SIGNED_REASONING)
    first = create(
        api,
        input="Weather?",
        tools=[WEATHER],
        reasoning={"effort": "low"},
        store=False,
        include=["reasoning.encrypted_content"],
    )
    reasoning_item, call = first["output"][0], first["output"][1]
    assert reasoning_item["encrypted_content"]

    # WHEN the client sends the whole conversation back itself
    bedrock.add(text_reply("18C."))
    create(
        api,
        store=False,
        tools=[WEATHER],
        reasoning={"effort": "low"},
        input=[
            {"role": "user", "content": "Weather?"},
            reasoning_item,
            call,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "18C"},
        ],
    )

    # THEN Bedrock gets the same signed reasoning back
    assert bedrock.last_request["messages"][1]["content"][0] == SENT_BACK


# errors ------------------------------------------------------------------------------------------------------


def test_throttling_is_a_429_with_retry_after(api: TestClient, bedrock: FakeBedrock) -> None:
    bedrock.add(error_reply(429, "ThrottlingException", "Too many requests, please wait before trying again."))

    reply = api.post("/v1/responses", json={"model": MODEL, "input": "hi", "stream": True})

    assert reply.status_code == 429 and "retry-after" in reply.headers
    assert reply.json()["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("status", "code", "logged"),
    [(429, "ThrottlingException", True), (500, "InternalServerException", True), (400, "ValidationException", False)],
)
def test_a_failed_bedrock_call_is_logged_with_the_request_id(
    api: TestClient, bedrock: FakeBedrock, caplog: pytest.LogCaptureFixture, status: int, code: str, logged: bool
) -> None:
    bedrock.add(error_reply(status, code, "bedrock says no"))
    with caplog.at_level(logging.INFO, logger="gateway"):
        reply = api.post("/v1/responses", json={"model": MODEL, "input": "hi"})
    [line] = [record for record in caplog.records if "upstream bedrock" in record.getMessage()]
    assert code in line.getMessage() and line.__dict__["request_id"] == reply.headers["x-request-id"]
    # Throttling and faults carry Bedrock's message; a refusal's may quote the prompt, so it is left out.
    assert ("bedrock says no" in line.getMessage()) == logged


def test_validation_is_a_400_with_bedrocks_message(api: TestClient, bedrock: FakeBedrock) -> None:
    bedrock.add(error_reply(400, "ValidationException", "messages.0.content: text field is blank"))

    reply = api.post("/v1/responses", json={"model": MODEL, "input": "hi"})

    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"] == "messages.0.content: text field is blank"


def test_access_denied_is_a_400_naming_the_model(api: TestClient, bedrock: FakeBedrock) -> None:
    bedrock.add(error_reply(403, "AccessDeniedException", "You don't have access to the model."))

    error = api.post("/v1/responses", json={"model": MODEL, "input": "hi"}).json()["error"]

    assert error["param"] == "model" and CLAUDE in error["message"] and "first-use form" in error["message"]


def test_unsupported_parameter_is_a_plain_400_even_when_streaming(api: TestClient, bedrock: FakeBedrock) -> None:
    reply = api.post("/v1/responses", json={"model": MODEL, "input": "hi", "seed": 7, "stream": True})

    assert reply.status_code == 400 and reply.headers["content-type"].startswith("application/json")
    assert reply.json()["error"]["code"] == "unsupported_parameter" and reply.json()["error"]["param"] == "seed"
    assert bedrock.requests == []


def test_a_mid_stream_exception_ends_with_response_failed(api: TestClient, bedrock: FakeBedrock) -> None:
    bedrock.add(stream(message_start(), text(0, "Par", stop=False), exception("modelStreamErrorException", "boom")))

    events = sse_stream(api, {"model": MODEL, "input": "hi"})

    terminal = [event for event in events if event["type"] in TERMINAL]
    assert terminal == [events[-1]] and events[-1]["type"] == "response.failed"
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    assert "boom" in failed["error"]["message"]
    assert failed["output"][0]["content"][0]["text"] == "Par"


def test_a_mid_stream_exception_is_a_502_when_buffered(api: TestClient, bedrock: FakeBedrock) -> None:
    bedrock.add(stream(message_start(), text(0, "Par", stop=False), exception("internalServerException", "boom")))

    reply = api.post("/v1/responses", json={"model": MODEL, "input": "hi"})

    assert reply.status_code == 502 and reply.json()["error"]["type"] == "server_error"
