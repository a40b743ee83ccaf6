"""WebSocket mode (``GET /v1/responses`` upgraded; RESPONSES_2026.md §6) through the real app, upstream faked."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from tests.conftest import AppFactory
from tests.fakes.upstream import FakeUpstream, Reply, error_reply, text_reply
from tests.sse import TEXT_EVENTS, stream

Json = dict[str, Any]
TERMINAL = {"response.completed", "response.failed", "response.incomplete"}
BETA = {"openai-beta": "responses_websockets=2026-02-06"}


def turn(socket: Any, frame: Json) -> list[Json]:
    """Send one frame and read up to its terminal event or an error frame."""
    socket.send_text(json.dumps(frame))
    events: list[Json] = []
    while True:
        event = json.loads(socket.receive_text())
        events.append(event)
        if event["type"] in TERMINAL or event["type"] == "error":
            return events


def create(**fields: Any) -> Json:
    return {"type": "response.create", "model": "m", **fields}


def user_texts(body: Json) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] in ("user", "assistant") and m.get("content")]


def test_a_create_answers_the_events_a_stream_would(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("Hel", "lo", " world"), text_reply("Hel", "lo", " world"))
    sse = stream(client, {"model": "m", "input": "hi"})

    with client.websocket_connect("/v1/responses", headers=BETA) as socket:
        events = turn(socket, create(input="hi"))

    assert [e["type"] for e in events] == [e["type"] for e in sse] == TEXT_EVENTS
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert all("stream_id" not in e for e in events)
    final = events[-1]["response"]
    assert final["status"] == "completed" and final["output"][0]["content"][0]["text"] == "Hello world"
    assert client.get(f"/v1/responses/{final['id']}").json()["status"] == "completed"  # stored, as over HTTP
    assert upstream.last["stream"] is True


def test_store_false_continues_on_its_connection_only(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("cobalt noted"), text_reply("cobalt"))
    with client.websocket_connect("/v1/responses") as socket:
        first = turn(socket, create(store=False, input="Remember cobalt."))[-1]["response"]
        second = turn(socket, create(store=False, previous_response_id=first["id"], input="The word?"))

    assert second[-1]["type"] == "response.completed"
    assert second[-1]["response"]["previous_response_id"] == first["id"]
    assert user_texts(upstream.last) == ["Remember cobalt.", "cobalt noted", "The word?"]
    assert client.get(f"/v1/responses/{first['id']}").status_code == 404  # never stored

    with client.websocket_connect("/v1/responses") as socket:
        [error] = turn(socket, create(store=False, previous_response_id=first["id"], input="Again?"))
        recovered = turn(socket, create(store=False, input="Start over."))
    assert error["status"] == 400 and error["error"]["code"] == "previous_response_not_found"
    assert error["error"]["param"] == "previous_response_id"
    assert recovered[-1]["type"] == "response.completed"


def test_a_failed_continuation_evicts_its_parent(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("OK"))
    stray = {"type": "function_call_output", "call_id": "call_missing", "output": "no such call"}
    with client.websocket_connect("/v1/responses") as socket:
        first = turn(socket, create(store=False, input="Remember ember."))[-1]["response"]
        [failed] = turn(socket, create(store=False, previous_response_id=first["id"], input=[stray]))
        [retry] = turn(socket, create(store=False, previous_response_id=first["id"], input="stale?"))

    assert failed["type"] == "error" and failed["status"] == 400
    assert retry["error"]["code"] == "previous_response_not_found"
    assert len(upstream.requests) == 1


def test_eviction_spares_other_lanes_and_descendants(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("A"), text_reply("B"), text_reply("C"))
    stray = {"type": "function_call_output", "call_id": "call_missing", "output": "no such call"}
    with client.websocket_connect("/v1/responses") as socket:
        a = turn(socket, create(store=False, input="one", stream_id="main"))[-1]["response"]["id"]
        b = turn(socket, create(store=False, previous_response_id=a, input="two", stream_id="main"))
        [fork] = turn(socket, create(store=False, previous_response_id=a, input=[stray], stream_id="fork"))
        source = turn(socket, create(store=False, previous_response_id=a, input="three", stream_id="main"))
        [failed] = turn(socket, create(store=False, previous_response_id=a, input=[stray], stream_id="main"))
        [gone] = turn(socket, create(store=False, previous_response_id=a, input="four", stream_id="main"))
        child = turn(socket, create(store=False, previous_response_id=b[-1]["response"]["id"], input="five"))

    assert fork["type"] == failed["type"] == "error" and fork["stream_id"] == "fork"
    assert source[-1]["type"] == "response.completed"  # an errored fork on another lane kept the parent
    assert gone["error"]["code"] == "previous_response_not_found"  # a failure on its own lane evicted it
    assert child[-1]["type"] == "response.completed"  # its child still carries the whole lineage
    assert user_texts(upstream.last) == ["one", "A", "two", "B", "five"]


def test_a_client_gone_mid_response_stops_it(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(replace(text_reply("a", "b", "c", "d"), delay=0.3))
    with client.websocket_connect("/v1/responses") as socket:
        socket.send_text(json.dumps(create(input="hi")))
        created = json.loads(socket.receive_text())
    time.sleep(1.5)  # longer than the whole reply would take

    assert created["type"] == "response.created"
    assert client.get(f"/v1/responses/{created['response']['id']}").status_code == 404  # never finished


def test_a_continuation_ending_failed_evicts_its_parent(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("A"), *[error_reply(500, "upstream down")] * 5)
    with client.websocket_connect("/v1/responses") as socket:
        a = turn(socket, create(store=False, input="one"))[-1]["response"]["id"]
        failed = turn(socket, create(store=False, previous_response_id=a, input="two"))
        [gone] = turn(socket, create(store=False, previous_response_id=a, input="three"))

    assert failed[-1]["type"] == "response.failed"
    assert gone["error"]["code"] == "previous_response_not_found"


def test_prewarm_calls_no_model_and_carries_its_input(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("Done."))
    with client.websocket_connect("/v1/responses") as socket:
        warm = turn(socket, create(store=False, generate=False, instructions="Be brief.", input="Context A."))
        assert upstream.requests == []
        follow = turn(socket, create(store=False, previous_response_id=warm[-1]["response"]["id"], input="Go."))

    assert [e["type"] for e in warm] == ["response.created", "response.completed"]
    assert warm[-1]["response"]["output"] == [] and warm[-1]["response"]["status"] == "completed"
    assert follow[-1]["type"] == "response.completed"
    assert user_texts(upstream.last) == ["Context A.", "Go."]


def test_lanes_echo_their_stream_id(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("a"))
    with client.websocket_connect("/v1/responses") as socket:
        events = turn(socket, create(input="hi", stream_id="lane-1"))
        [bad] = turn(socket, create(input="hi", stream_id="not a lane!"))
        [bad_type] = turn(socket, create(input="hi", stream_id=7))

    assert {e.get("stream_id") for e in events} == {"lane-1"} and events[-1]["type"] == "response.completed"
    assert bad["error"]["code"] == bad_type["error"]["code"] == "invalid_stream_id"
    assert bad["status"] == 400 and "stream_id" not in bad


def test_lanes_run_side_by_side_and_the_default_lane_in_order(client: TestClient, upstream: FakeUpstream) -> None:
    def by_input(body: Json) -> Reply:
        slow = body["messages"][-1]["content"] == "slow"
        return replace(text_reply("slow done" if slow else "fast done"), delay=0.3 if slow else 0.0)

    upstream.will(by_input, by_input)
    with client.websocket_connect("/v1/responses") as socket:
        socket.send_text(json.dumps(create(input="slow", stream_id="a")))
        socket.send_text(json.dumps(create(input="fast", stream_id="b")))
        terminals = []
        while len(terminals) < 2:
            event = json.loads(socket.receive_text())
            if event["type"] in TERMINAL:
                terminals.append((event["stream_id"], event["response"]["output"][0]["content"][0]["text"]))
        upstream.will(by_input, by_input)
        socket.send_text(json.dumps(create(input="slow")))
        socket.send_text(json.dumps(create(input="fast")))
        ordered: list[Json] = []
        while sum(e["type"] in TERMINAL for e in ordered) < 2:
            ordered.append(json.loads(socket.receive_text()))

    assert terminals == [("b", "fast done"), ("a", "slow done")]  # b did not wait for a
    done = [e["response"]["output"][0]["content"][0]["text"] for e in ordered if e["type"] in TERMINAL]
    assert done == ["slow done", "fast done"]  # the default lane runs one response at a time
    first_end = next(i for i, e in enumerate(ordered) if e["type"] in TERMINAL)
    assert ordered[first_end + 1]["type"] == "response.created"  # not interleaved


def test_named_lanes_are_limited_per_connection(client: TestClient, upstream: FakeUpstream) -> None:
    with client.websocket_connect("/v1/responses") as socket:
        for lane in range(33):
            socket.send_text(json.dumps(create(input="warm", generate=False, stream_id=f"lane-{lane}")))
        answers = []
        while len(answers) < 33:
            event = json.loads(socket.receive_text())
            if event["type"] in TERMINAL or event["type"] == "error":
                answers.append(event)

    refused = [e for e in answers if e["type"] == "error"]
    assert [(e["stream_id"], e["error"]["code"]) for e in refused] == [("lane-32", "websocket_stream_limit_reached")]
    assert upstream.requests == []


def test_other_client_events_are_accepted_and_bad_frames_answered(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("fine"))
    with client.websocket_connect("/v1/responses") as socket:
        socket.send_text(json.dumps({"type": "response.processed", "response_id": "resp_x"}))
        [not_json] = turn(socket, {"no": "type"})
        socket.send_text("{not json")
        garbled = json.loads(socket.receive_text())
        [background] = turn(socket, create(input="hi", background=True))
        [unknown] = turn(socket, create(input="hi", temperature_x=1))
        events = turn(socket, create(input="hi", stream=True))

    assert not_json["error"]["param"] == "type"
    assert garbled["type"] == "error" and garbled["error"]["code"] == "invalid_json"
    assert background["error"]["param"] == "background"
    assert unknown["error"]["code"] == "unknown_parameter"
    assert events[-1]["type"] == "response.completed"


def test_the_key_is_checked_at_the_upgrade(make_client: AppFactory, upstream: FakeUpstream) -> None:
    client = make_client(api_keys="acme:key-acme,globex:key-globex")
    with pytest.raises(WebSocketDenialResponse) as denied:
        client.websocket_connect("/v1/responses").__enter__()
    assert denied.value.status_code == 401
    assert denied.value.json()["error"]["code"] == "missing_api_key"

    upstream.will(text_reply("secret"))
    acme = {"authorization": "Bearer key-acme"}
    with client.websocket_connect("/v1/responses", headers=acme) as socket:
        mine = turn(socket, create(input="hi"))[-1]["response"]["id"]
    globex = {"authorization": "Bearer key-globex"}
    with client.websocket_connect("/v1/responses", headers=globex) as socket:
        [error] = turn(socket, create(previous_response_id=mine, input="theirs?"))
    assert error["error"]["code"] == "previous_response_not_found"


def test_idle_connections_close_cleanly(make_client: AppFactory) -> None:
    client = make_client(websocket_idle_seconds=0.2)
    with client.websocket_connect("/v1/responses") as socket, pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_text()
    assert closed.value.code == 1000


def test_the_connection_limit_ends_with_its_error(make_client: AppFactory, upstream: FakeUpstream) -> None:
    client = make_client(websocket_max_seconds=0.5)
    upstream.will(text_reply("in time"))
    with client.websocket_connect("/v1/responses") as socket:
        assert turn(socket, create(input="hi"))[-1]["type"] == "response.completed"
        time.sleep(0.5)
        limit = json.loads(socket.receive_text())
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_text()
    assert limit["type"] == "error" and limit["error"]["code"] == "websocket_connection_limit_reached"
    assert closed.value.code == 1000


def test_a_plain_get_is_still_an_unknown_url(client: TestClient) -> None:
    reply = client.get("/v1/responses")
    assert reply.status_code == 404
    assert reply.json()["error"]["message"] == "Invalid URL (GET /v1/responses)"
