"""Function calling and structured outputs (``responses.parse``) through the official SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import BadRequestError, OpenAI
from pydantic import BaseModel

from tests.compat.live import MODEL
from tests.fakes.upstream import FakeUpstream, text_reply, tool_reply

pytestmark = pytest.mark.compat

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": WEATHER_PARAMETERS,
        "strict": True,
    }
]
ARGUMENTS = '{"city": "Paris"}'


def test_function_call_round_trip(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given an upstream that first calls the tool, then answers with text
    upstream.will(tool_reply(("call_abc", "get_weather", ARGUMENTS)), text_reply("Sunny, 21 C."))

    # When the model is asked with a function tool
    first = client.responses.create(model=MODEL, input="Weather in Paris?", tools=TOOLS)

    # Then the output is one function_call whose arguments are a JSON string
    [call] = first.output
    assert call.type == "function_call"
    assert call.id is not None
    assert call.id.startswith("fc_")
    assert call.call_id == "call_abc"
    assert call.name == "get_weather"
    assert call.arguments == ARGUMENTS
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert first.status == "completed"
    # And the upstream got the tool in Chat Completions shape
    assert upstream.requests[0]["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather in a city.",
                "parameters": WEATHER_PARAMETERS,
                "strict": True,
            },
        }
    ]

    # When the tool's output is sent back on the chain
    output = {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp_c": 21}'}
    second = client.responses.create(model=MODEL, previous_response_id=first.id, input=[output], tools=TOOLS)

    # Then the answer is a message
    assert [item.type for item in second.output] == ["message"]
    assert second.output_text == "Sunny, 21 C."
    # And the upstream saw the assistant's tool call and the tool message answering it
    assert upstream.requests[1]["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_abc", "type": "function", "function": {"name": "get_weather", "arguments": ARGUMENTS}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc", "content": '{"temp_c": 21}'},
    ]


def test_streamed_function_call_arguments_add_up(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given an upstream streaming a tool call's arguments in three pieces
    upstream.will(tool_reply(("call_xyz", "get_weather", ARGUMENTS), split=3))

    # When the SDK's stream helper consumes it
    with client.responses.stream(model=MODEL, input="Weather in Paris?", tools=TOOLS) as stream:
        events = list(stream)
        final = stream.get_final_response()

    # Then deltas, the done event (which names the function) and the final item agree, with no content parts
    deltas = [event.delta for event in events if event.type == "response.function_call_arguments.delta"]
    [done] = [event for event in events if event.type == "response.function_call_arguments.done"]
    assert len(deltas) == 3
    assert "".join(deltas) == done.arguments == ARGUMENTS
    assert done.name == "get_weather"
    assert not [event for event in events if event.type.startswith("response.content_part")]
    [call] = final.output
    assert call.type == "function_call"
    assert call.arguments == ARGUMENTS
    assert call.call_id == "call_xyz"


def test_function_call_output_with_an_unknown_call_id_is_rejected(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given a response that ended in a function call
    upstream.will(tool_reply(("call_abc", "get_weather", ARGUMENTS)))
    first = client.responses.create(model=MODEL, input="Weather in Paris?", tools=TOOLS)

    # When an output for a call that never happened is sent
    output = {"type": "function_call_output", "call_id": "call_nope", "output": "?"}
    with pytest.raises(BadRequestError) as error:
        client.responses.create(model=MODEL, previous_response_id=first.id, input=[output], tools=TOOLS)

    # Then it is a 400 on input, and the upstream is not called again
    assert error.value.param == "input"
    assert len(upstream.requests) == 1


def test_continuing_without_the_function_call_output_is_rejected(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given a response that ended in a function call
    upstream.will(tool_reply(("call_abc", "get_weather", ARGUMENTS)))
    first = client.responses.create(model=MODEL, input="Weather in Paris?", tools=TOOLS)

    # When the chain continues with plain text instead of the call's output
    with pytest.raises(BadRequestError) as error:
        client.responses.create(model=MODEL, previous_response_id=first.id, input="and tomorrow?", tools=TOOLS)

    # Then it is a 400 naming the call, and the upstream is not called again
    assert "call_abc" in error.value.message
    assert len(upstream.requests) == 1


class Weather(BaseModel):
    city: str
    temp_c: int


def test_parse_with_a_pydantic_text_format(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given an upstream that answers with JSON text, in two pieces
    upstream.will(text_reply('{"city": "Paris", ', '"temp_c": 21}'))

    # When the SDK parses into a pydantic model
    parsed = client.responses.parse(model=MODEL, input="Weather in Paris, as JSON.", text_format=Weather)

    # Then the output is parsed into the model
    assert parsed.output_parsed == Weather(city="Paris", temp_c=21)
    assert parsed.text is not None
    assert parsed.text.format is not None
    assert parsed.text.format.type == "json_schema"
    assert parsed.text.format.name == "Weather"
    # And the upstream was asked for the model's strict JSON schema
    response_format = upstream.last["response_format"]
    assert response_format["type"] == "json_schema"
    json_schema = response_format["json_schema"]
    assert json_schema["name"] == "Weather"
    assert json_schema["strict"] is True
    schema = json_schema["schema"]
    assert set(schema["properties"]) == {"city", "temp_c"}
    assert schema["required"] == ["city", "temp_c"]
    assert schema["additionalProperties"] is False
