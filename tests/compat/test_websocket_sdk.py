"""WebSocket mode as the official SDK drives it: ``client.responses.connect()`` and its lanes helper
(``ResponsesWebSocketSession``), against the live gateway."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from agents import Agent, function_tool, responses_websocket_session, set_tracing_disabled
from openai import OpenAI
from openai.lib.responses_websocket import ResponsesWebSocketError, ResponsesWebSocketLimits, ResponsesWebSocketSession
from openai.types.responses.responses_client_event import ResponseCreate
from websockets.exceptions import InvalidStatus

from tests.compat.live import KEY_A, KEY_B, MODEL, LiveServer
from tests.fakes.upstream import FakeUpstream, text_reply, tool_reply
from tests.sse import TEXT_EVENTS

pytestmark = pytest.mark.compat
set_tracing_disabled(True)  # the Agents SDK would export traces to OpenAI

TERMINAL = {"response.completed", "response.failed", "response.incomplete", "error"}
LIMITS = ResponsesWebSocketLimits(
    max_lanes=4, max_events_per_lane=256, max_events=512, max_bytes_per_lane=1 << 20, max_bytes=1 << 22
)


def _until_terminal(connection: Any) -> list[Any]:
    events = []
    for event in connection:
        events.append(event)
        if event.type in TERMINAL:
            return events
    raise AssertionError("the connection closed before a terminal event")


def test_connect_streams_the_sse_events_and_continues_store_false(client: OpenAI, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("Hel", "lo, ", "world"), text_reply("cobalt"))

    with client.responses.connect() as connection:
        connection.response.create(model=MODEL, input="Remember cobalt.", store=False)
        first = _until_terminal(connection)
        parent = first[-1].response
        connection.response.create(model=MODEL, input="The word?", store=False, previous_response_id=parent.id)
        second = _until_terminal(connection)

    assert [event.type for event in first] == TEXT_EVENTS
    assert [event.sequence_number for event in first] == list(range(len(first)))
    assert parent.output_text == "Hello, world" and parent.status == "completed"
    assert second[-1].type == "response.completed" and second[-1].response.previous_response_id == parent.id
    sent = [m["content"] for m in upstream.last["messages"] if m["role"] in ("user", "assistant")]
    assert sent == ["Remember cobalt.", "Hello, world", "The word?"]


def test_errors_arrive_as_typed_error_events(client: OpenAI, upstream: FakeUpstream) -> None:
    with client.responses.connect() as connection:
        connection.response.create(model=MODEL, input="hi", store=False, previous_response_id="resp_missing")
        [error] = _until_terminal(connection)

    assert error.type == "error" and error.status == 400
    assert error.error.code == "previous_response_not_found" and error.error.param == "previous_response_id"
    assert upstream.requests == []


def test_a_bad_key_is_refused_at_the_upgrade(make_sdk: Any) -> None:
    """Refused as a POST would be: 401 with OpenAI's envelope, before any frame (the SDK surfaces the
    handshake's status through ``websockets``)."""
    with pytest.raises(InvalidStatus) as refused, make_sdk(api_key="wrong").responses.connect():
        pass
    reply = refused.value.response
    assert reply.status_code == 401
    assert json.loads(reply.body)["error"]["code"] == "invalid_api_key"


def test_tenants_do_not_share_responses_over_websocket(client: OpenAI, make_sdk: Any, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("mine"))
    with client.responses.connect() as connection:
        connection.response.create(model=MODEL, input="hi")
        stored = _until_terminal(connection)[-1].response

    with make_sdk(api_key=KEY_B).responses.connect() as connection:
        connection.response.create(model=MODEL, input="theirs?", previous_response_id=stored.id)
        [error] = _until_terminal(connection)
    assert error.error.code == "previous_response_not_found"


def test_session_lanes_prewarm_and_run_side_by_side(client: OpenAI, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("left done"), text_reply("right done"))

    with client.responses.connect() as connection, ResponsesWebSocketSession(connection, limits=LIMITS) as session:
        left, right = session.lane("left"), session.lane("right")
        left.send(ResponseCreate(type="response.create", model=MODEL, input="Context.", store=False, generate=False))
        warm = left.get_final_response(timeout=10)
        assert upstream.requests == []  # a prewarm calls no model
        left.send({"type": "response.create", "model": MODEL, "input": "L", "previous_response_id": warm.id})
        right.send({"type": "response.create", "model": MODEL, "input": "R"})
        finals = {"left": left.get_final_response(timeout=10), "right": right.get_final_response(timeout=10)}

        right.send({"type": "response.create", "model": MODEL, "input": "x", "previous_response_id": "resp_gone"})
        with pytest.raises(ResponsesWebSocketError) as failed:
            right.get_final_response(timeout=10)

    assert warm.status == "completed" and warm.output == []
    assert {lane: final.status for lane, final in finals.items()} == {"left": "completed", "right": "completed"}
    assert finals["left"].previous_response_id == warm.id
    assert sorted(final.output_text for final in finals.values()) == ["left done", "right done"]
    carried = [r for r in upstream.requests if r["messages"][-1]["content"] == "L"]
    assert [m["content"] for m in carried[0]["messages"] if m["role"] == "user"] == ["Context.", "L"]
    assert getattr(failed.value.event, "stream_id", None) == "right"


def test_agents_sdk_runs_a_tool_loop_over_one_websocket(
    live_server: LiveServer, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    """The Agents SDK's ``responses_websocket_session``: a tool call and its answer, turn after turn on one
    connection, each continuing the last by ``previous_response_id``."""
    upstream.will(tool_reply(("call_1", "weather", json.dumps({"city": "Paris"}))), text_reply("Sunny in Paris."))

    @function_tool
    def weather(city: str) -> str:
        """The weather in a city."""
        return f"{city}: sunny"

    async def run() -> str:
        async with responses_websocket_session(api_key=KEY_A, base_url=live_server.base_url) as session:
            agent = Agent(name="forecaster", model=MODEL, tools=[weather])
            result = await session.run(agent, "Weather in Paris?")
            return str(result.final_output)

    caplog.set_level(logging.INFO, logger="gateway")
    assert asyncio.run(run()) == "Sunny in Paris."
    # Both turns on one connection: no POST was made
    assert caplog.text.count("websocket opened") == 1 and "POST /v1/responses" not in caplog.text
    first, second = upstream.requests
    assert first["messages"][-1]["content"] == "Weather in Paris?"
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call_1", "content": "Paris: sunny"}
