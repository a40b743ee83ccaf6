"""LangChain, as released and unmodified, calling tools through the live gateway in front of an upstream that
validates strict schemas as OpenAI does (LlamaIndex, which requires ``openai<3``, runs in its own venv:
``tests/clients/test_llamaindex.py``).

LangChain leaves ``strict`` out and sends schemas strict mode rejects (an optional argument, no
``additionalProperties: false``). The gateway must then offer them upstream with ``strict: false``, and keep
``strict: true`` for a schema that already satisfies strict mode; otherwise the strict upstream answers 400 and
the framework raises.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from tests.compat.live import KEY_A, MODEL, LiveServer
from tests.fakes.upstream import FakeUpstream, text_reply, tool_reply

pytestmark = pytest.mark.compat

WEATHER_CALL = ("call_weather", "get_weather", '{"city": "Paris"}')
"""The model calls the tool with only the required argument; the optional one keeps its default."""
FINAL = "Sunny, 21 celsius in Paris."


def get_weather(city: str, unit: str = "celsius") -> str:
    """Current weather in a city."""
    return f"Sunny, 21 {unit} in {city}."


OPTIONAL_UNIT_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "default": "celsius"}},
    "required": ["city"],
}
"""What LangChain derives from ``get_weather`` (titles aside): ``unit`` optional, the object open."""


CLOCK_SCHEMA = {
    "type": "object",
    "properties": {"timezone": {"type": "string"}},
    "required": ["timezone"],
    "additionalProperties": False,
}
"""Strict-compatible: every property required, the object closed."""
CLOCK_TOOL = {
    "type": "function",
    "function": {"name": "clock", "description": "The local time in a timezone.", "parameters": CLOCK_SCHEMA},
}
"""In OpenAI's shape, which LangChain passes through as given (from a Pydantic model it drops
``additionalProperties``)."""


class Forecast(BaseModel):
    city: str
    high_c: int | None = None


@pytest.fixture
def strict_upstream(live_server: LiveServer) -> FakeUpstream:
    """This test's upstream, refusing strict schemas that strict mode rejects, as OpenAI does."""
    fresh = FakeUpstream(strict=True)
    live_server.switchboard.current = fresh
    return fresh


@pytest.fixture
def chat_openai(live_server: LiveServer) -> ChatOpenAI:
    return ChatOpenAI(
        model=MODEL, base_url=live_server.base_url, api_key=KEY_A, use_responses_api=True, max_retries=0, timeout=10
    )


def _without_titles(schema: Any) -> Any:
    """The schema minus ``title`` annotations (Pydantic's and LangChain's differ; strict mode ignores them)."""
    if isinstance(schema, dict):
        return {key: _without_titles(value) for key, value in schema.items() if key != "title"}
    return schema


def _offered(request: dict[str, Any]) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Each tool the upstream was offered: name -> (strict, parameters without titles)."""
    return {
        tool["function"]["name"]: (tool["function"].get("strict"), _without_titles(tool["function"]["parameters"]))
        for tool in request["tools"]
    }


def test_langchain_bind_tools_round_trip(chat_openai: ChatOpenAI, strict_upstream: FakeUpstream) -> None:
    # Given LangChain tools: one with an optional argument, one whose schema satisfies strict mode
    weather = tool(get_weather)
    strict_upstream.will(tool_reply(WEATHER_CALL), text_reply(FINAL))
    bound = chat_openai.bind_tools([weather, CLOCK_TOOL])

    # When the model is asked, calls the tool, and is given its result
    question = HumanMessage("Weather in Paris?")
    first = bound.invoke([question])
    assert isinstance(first, AIMessage)
    [call] = first.tool_calls
    result = weather.invoke(call)
    final = bound.invoke([question, first, result])

    # Then LangChain parsed the call, and the tool result led to the final answer
    assert call["name"] == "get_weather"
    assert call["args"] == {"city": "Paris"}
    assert call["id"] == "call_weather"
    assert isinstance(result, ToolMessage)
    assert result.content == "Sunny, 21 celsius in Paris."
    assert final.text == FINAL
    # And the upstream was offered the open schema non-strict and the closed one strict
    offered = _offered(strict_upstream.requests[0])
    assert offered["get_weather"] == (False, OPTIONAL_UNIT_SCHEMA)
    assert offered["clock"] == (True, CLOCK_SCHEMA)
    # And the second turn carried the call and its output back
    history = strict_upstream.requests[1]["messages"]
    assert history[-1] == {"role": "tool", "tool_call_id": "call_weather", "content": "Sunny, 21 celsius in Paris."}
    assert history[-2]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert len(strict_upstream.requests) == 2


def test_langchain_structured_output_by_function_calling(
    chat_openai: ChatOpenAI, strict_upstream: FakeUpstream
) -> None:
    # Given a Pydantic model with an optional field, and a model that calls its function
    strict_upstream.will(tool_reply(("call_forecast", "Forecast", '{"city": "Paris", "high_c": 21}')))

    # When LangChain asks for it through function calling
    parsed = chat_openai.with_structured_output(Forecast, method="function_calling").invoke("Forecast for Paris?")

    # Then the parsed object comes back
    assert parsed == Forecast(city="Paris", high_c=21)
    # And the upstream was offered the function non-strict, and told to call it
    [request] = strict_upstream.requests
    assert _offered(request) == {
        "Forecast": (
            False,
            {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "high_c": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
                },
                "required": ["city"],
            },
        )
    }
    assert request["tool_choice"] == {"type": "function", "function": {"name": "Forecast"}}


def test_langchain_structured_output_by_json_schema(chat_openai: ChatOpenAI, strict_upstream: FakeUpstream) -> None:
    # Given a model that answers with the JSON object
    strict_upstream.will(text_reply('{"city": "Paris", ', '"high_c": 21}'))

    # When LangChain asks for it with its default method (a strict json_schema text format)
    parsed = chat_openai.with_structured_output(Forecast).invoke("Forecast for Paris?")

    # Then the parsed object comes back
    assert parsed == Forecast(city="Paris", high_c=21)
    # And the upstream got a strict response format whose schema strict mode accepts
    [request] = strict_upstream.requests
    response_format = request["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Forecast"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"]["required"] == ["city", "high_c"]
