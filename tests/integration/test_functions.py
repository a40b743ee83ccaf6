"""Conformance §7 items 18-22: function calls out, their outputs back in."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from tests.fakes.upstream import FakeUpstream, text_reply, tool_reply
from tests.sse import stream

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def call_weather(client: TestClient, upstream: FakeUpstream, **extra: Any) -> dict[str, Any]:
    upstream.will(tool_reply(("call_abc", "get_weather", '{"city": "Paris"}')))
    body = {"model": "m", "input": "Weather in Paris?", "tools": [WEATHER], "tool_choice": "required", **extra}
    reply = client.post("/v1/responses", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_function_call_item(client: TestClient, upstream: FakeUpstream) -> None:
    body = call_weather(client, upstream)

    [call] = body["output"]
    assert call["type"] == "function_call" and call["id"].startswith("fc_")
    assert call["call_id"] == "call_abc" and call["name"] == "get_weather" and call["status"] == "completed"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    # and the upstream got the tool in Chat Completions form
    assert upstream.last["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": WEATHER["parameters"],
                # strict left out and the schema is not strict-compatible (no additionalProperties: false)
                "strict": False,
            },
        }
    ]
    assert upstream.last["tool_choice"] == "required"
    assert upstream.last["parallel_tool_calls"] is True


def test_function_output_round_trip(client: TestClient, upstream: FakeUpstream) -> None:
    first = call_weather(client, upstream)
    upstream.will(text_reply("It is sunny."))

    reply = client.post(
        "/v1/responses",
        json={
            "model": "m",
            "previous_response_id": first["id"],
            "tools": [WEATHER],
            "input": [{"type": "function_call_output", "call_id": "call_abc", "output": '{"sky": "clear"}'}],
        },
    )

    assert reply.status_code == 200, reply.text
    assert reply.json()["output"][0]["content"][0]["text"] == "It is sunny."
    assert upstream.last["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc", "content": '{"sky": "clear"}'},
    ]


def test_output_for_an_unknown_call(client: TestClient, upstream: FakeUpstream) -> None:
    first = call_weather(client, upstream)
    reply = client.post(
        "/v1/responses",
        json={
            "model": "m",
            "previous_response_id": first["id"],
            "input": [
                {"type": "function_call_output", "call_id": "call_abc", "output": "x"},
                {"type": "function_call_output", "call_id": "call_nope", "output": "x"},
            ],
        },
    )
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["param"] == "input" and "call_nope" in error["message"]


def test_continuing_without_the_output(client: TestClient, upstream: FakeUpstream) -> None:
    first = call_weather(client, upstream)
    reply = client.post("/v1/responses", json={"model": "m", "previous_response_id": first["id"], "input": "and?"})
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == "No tool output found for function call call_abc."


def test_parallel_calls_and_the_flag(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(tool_reply(("call_1", "get_weather", '{"city": "A"}'), ("call_2", "get_weather", '{"city": "B"}')))
    body = client.post("/v1/responses", json={"model": "m", "input": "A and B", "tools": [WEATHER]}).json()
    assert [item["call_id"] for item in body["output"]] == ["call_1", "call_2"]

    call_weather(client, upstream, parallel_tool_calls=False)
    assert upstream.last["parallel_tool_calls"] is False


def test_streamed_function_call_events(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(tool_reply(("call_abc", "get_weather", '{"city": "Paris"}'), split=3))

    events = stream(client, {"model": "m", "input": "Weather?", "tools": [WEATHER]})

    kinds = [event["type"] for event in events]
    assert "response.content_part.added" not in kinds
    added = next(event for event in events if event["type"] == "response.output_item.added")
    assert added["item"]["arguments"] == "" and added["item"]["name"] == "get_weather"
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta")
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    item_done = next(e for e in events if e["type"] == "response.output_item.done")
    assert deltas == done["arguments"] == item_done["item"]["arguments"] == '{"city": "Paris"}'
    assert done["name"] == "get_weather" and done["item_id"] == added["item"]["id"]


def test_stateless_history_in_input(client: TestClient, upstream: FakeUpstream) -> None:
    # GIVEN a client that keeps its own history (store: false) and sends it all back
    history = [
        {"role": "user", "content": "Weather?"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
    ]
    reply = client.post("/v1/responses", json={"model": "m", "store": False, "input": history, "tools": [WEATHER]})

    assert reply.status_code == 200
    assert [message["role"] for message in upstream.last["messages"]] == ["user", "assistant", "tool"]
    assert client.get(f"/v1/responses/{reply.json()['id']}").status_code == 404
