"""Conformance §7 items 35-46: the SSE event sequence."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fakes.upstream import FakeUpstream, text_reply
from tests.sse import TEXT_EVENTS, by_type, comparable, stream

TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


def test_sequence_and_lifecycle(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("Hel", "lo", " world"))

    events = stream(client, {"model": "m", "input": "hi"})

    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    created, in_progress = events[0], events[1]
    assert created["type"] == "response.created" and in_progress["type"] == "response.in_progress"
    assert created["response"]["status"] == "in_progress"
    assert created["response"]["output"] == [] and created["response"]["usage"]["total_tokens"] == 0
    terminal = [event for event in events if event["type"] in TERMINAL]
    assert terminal == [events[-1]] and events[-1]["type"] == "response.completed"
    assert [event["type"] for event in events] == TEXT_EVENTS


def test_text_adds_up_everywhere(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("Hel", "lo", " world"))
    events = stream(client, {"model": "m", "input": "hi"})

    grouped = by_type(events)
    added = grouped["response.output_item.added"][0]
    assert grouped["response.content_part.added"][0]["part"] == {
        "type": "output_text",
        "text": "",
        "annotations": [],
        "logprobs": [],
    }
    deltas = grouped["response.output_text.delta"]
    assert {delta["item_id"] for delta in deltas} == {added["item"]["id"]}
    assert {(delta["output_index"], delta["content_index"]) for delta in deltas} == {(0, 0)}
    joined = "".join(delta["delta"] for delta in deltas)
    final = events[-1]["response"]
    assert (
        joined
        == grouped["response.output_text.done"][0]["text"]
        == grouped["response.content_part.done"][0]["part"]["text"]
        == final["output"][0]["content"][0]["text"]
        == "Hello world"
    )
    assert final["output"] == [event["item"] for event in grouped["response.output_item.done"]]
    assert final["usage"]["total_tokens"] == 18


def test_obfuscation_padding_and_opt_out(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("abc"))
    [delta] = by_type(stream(client, {"model": "m", "input": "hi"}))["response.output_text.delta"]
    assert (len(delta["delta"]) + len(delta["obfuscation"])) % 16 == 0

    upstream.will(text_reply("abc"))
    body = {"model": "m", "input": "hi", "stream_options": {"include_obfuscation": False}}
    [delta] = by_type(stream(client, body))["response.output_text.delta"]
    assert "obfuscation" not in delta


def test_reasoning_then_text(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("42", reasoning=("Let me ", "think.")))
    events = stream(client, {"model": "m", "input": "hi"})

    items = [event["item"] for event in by_type(events)["response.output_item.done"]]
    assert [item["type"] for item in items] == ["reasoning", "message"]
    # upstream reasoning is the item's content, not a summary (RESPONSES_2026.md §4)
    assert items[0]["content"] == [{"type": "reasoning_text", "text": "Let me think."}]
    assert items[0]["summary"] == [] and items[0]["status"] == "completed"
    assert [event["output_index"] for event in by_type(events)["response.output_item.added"]] == [0, 1]
    text = "".join(e["delta"] for e in by_type(events)["response.reasoning_text.delta"])
    assert text == "Let me think." == by_type(events)["response.reasoning_text.done"][0]["text"]
    assert "response.reasoning_summary_text.delta" not in by_type(events)


def test_incomplete_when_cut_off(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("Once upon a", finish="length"))

    events = stream(client, {"model": "m", "input": "story", "max_output_tokens": 16})

    last = events[-1]
    assert last["type"] == "response.incomplete"
    assert last["response"]["status"] == "incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert last["response"]["output"][0]["status"] == "incomplete"
    assert last["response"]["completed_at"] is None
    assert upstream.last["max_completion_tokens"] == 16


def test_content_filter(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("I", finish="content_filter"))
    body = client.post("/v1/responses", json={"model": "m", "input": "x"}).json()
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "content_filter"}


def test_streamed_response_is_retrievable(client: TestClient) -> None:
    events = stream(client, {"model": "m", "input": "hi"})
    final = events[-1]["response"]
    stored = client.get(f"/v1/responses/{final['id']}").json()
    assert stored == final


def test_streamed_and_buffered_agree(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("same", " text"), text_reply("same", " text"))
    streamed = stream(client, {"model": "m", "input": "hi"})[-1]["response"]
    buffered = client.post("/v1/responses", json={"model": "m", "input": "hi"}).json()
    assert comparable(streamed) == comparable(buffered)
