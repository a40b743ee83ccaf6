"""The judge itself: it accepts what the specs describe and names precisely what they reject."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.contract import allowlist, judge
from tests.contract.hook import Exchange, Sink
from tests.contract.pinned import load, openapi_nullable
from tests.contract.walk import rebuild

# Written from the two specs' required fields, not from gateway output.
RESPONSE: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1700000000,
    "completed_at": 1700000001,
    "status": "completed",
    "background": False,
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "model": "gpt-4o-mini",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "hi", "annotations": [], "logprobs": []}],
        }
    ],
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "prompt_cache_key": None,
    "reasoning": {"effort": None, "summary": None},
    "safety_identifier": None,
    "service_tier": "default",
    "store": True,
    "temperature": 1.0,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "text": {"format": {"type": "text"}, "verbosity": "medium"},
    "tool_choice": "auto",
    "tools": [],
    "top_logprobs": 0,
    "top_p": 1.0,
    "truncation": "disabled",
    "usage": {
        "input_tokens": 3,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 1,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 4,
    },
    "metadata": {},
}


def changed(**fields: Any) -> dict[str, Any]:
    body = copy.deepcopy(RESPONSE)
    for name, value in fields.items():
        if value is ...:
            body.pop(name)
        else:
            body[name] = value
    return body


def where(found: list[judge.Violation]) -> set[tuple[str, str, str]]:
    return {(v.spec, v.path, v.keyword) for v in found}


def test_a_response_written_from_the_specs_passes_both() -> None:
    assert judge.response(RESPONSE) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"usage": None}, ("openai", "/usage", "type")),
        ({"user": None}, ("openai", "/user", "type")),
        ({"service_tier": "cheap"}, ("openai", "/service_tier", "enum")),
        ({"presence_penalty": ...}, ("openresponses", "", "required")),
        ({"frequency_penalty": "0"}, ("openresponses", "/frequency_penalty", "type")),
        ({"created_at": "now"}, ("openai", "/created_at", "type")),
        ({"metadata": {"k": 1}}, ("openai", "/metadata/k", "type")),
    ],
)
def test_a_field_off_the_spec_is_named(fields: dict[str, Any], expected: tuple[str, str, str]) -> None:
    assert expected in where(judge.response(changed(**fields)))


def test_a_bad_item_is_reported_inside_its_own_variant_not_as_a_union_miss() -> None:
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [], "content": None, "status": None}

    found = judge.response(changed(output=[reasoning]))

    openai = [v for v in found if v.spec == "openai"]
    assert {(v.path, v.item_type) for v in openai} == {
        ("/output/0/content", "reasoning"),
        ("/output/0/status", "reasoning"),
    }


def test_stream_events_are_judged_by_their_type() -> None:
    delta = {
        "type": "response.output_text.delta",
        "sequence_number": 3,
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "hi",
        "logprobs": [],
    }
    assert judge.event(delta) == []
    assert ("openai", "", "required") in where(judge.event({k: v for k, v in delta.items() if k != "logprobs"}))
    assert where(judge.event({**delta, "type": "response.output_text.delt"})) == {("openai", "/type", "enum")}
    created = {"type": "response.created", "sequence_number": 0, "response": changed(usage=None)}
    assert ("openai", "/response/usage", "type") in where(judge.event(created))


def test_input_item_pages_deleted_objects_and_error_envelopes() -> None:
    item = {"id": "msg_1", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    page = {"object": "list", "data": [item], "first_id": "msg_1", "last_id": "msg_1", "has_more": False}
    assert judge.item_list(page) == []
    assert ("openai", "/first_id", "type") in where(judge.item_list({**page, "data": [], "first_id": None}))
    assert judge.deleted({"id": "resp_1", "object": "response", "deleted": True}) == []
    assert judge.deleted({"id": "resp_1", "object": "response", "deleted": False}) != []
    envelope = {"error": {"message": "no", "type": "invalid_request_error", "param": None, "code": None}}
    assert judge.error(envelope) == []
    assert ("openai", "/error", "required") in where(judge.error({"error": {"message": "no", "type": "x"}}))


def test_replies_are_routed_by_the_specs_paths() -> None:
    page = {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    raw = json.dumps(page).encode()
    assert judge.reply("GET", "/v1/responses/resp_1/input_items", 200, "application/json", raw) != []
    assert judge.reply("GET", "/health", 200, "application/json", raw) == []
    not_found = json.dumps({"detail": "Not Found"}).encode()
    assert judge.reply("GET", "/v1/nowhere", 404, "application/json", not_found) != []
    gone = json.dumps({"id": "resp_1", "object": "response", "deleted": True}).encode()
    assert judge.reply("DELETE", "/v1/responses/resp_1", 200, "application/json", gone) == []


def test_openapi_nullable_means_or_null_and_only_where_it_is_a_keyword() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "nullable": True}, "nullable": {"type": "boolean"}},
    }
    converted = rebuild(schema, openapi_nullable)

    assert Draft202012Validator(converted).is_valid({"name": None, "nullable": True})
    assert not Draft202012Validator(converted).is_valid({"nullable": None})
    assert not Draft202012Validator(rebuild({"type": "string", "nullable": False}, openapi_nullable)).is_valid(None)


def test_recursive_refs_are_followed_not_ignored() -> None:
    validator = load("openai").validator("CompoundFilter")
    nested = {"type": "and", "filters": [{"type": "or", "filters": [{"type": "eq", "key": "k", "value": "v"}]}]}
    assert validator.is_valid(nested)
    assert not validator.is_valid({"type": "and", "filters": [{"type": "or", "filters": [{"bogus": 1}]}]})


def frames(*events: dict[str, Any]) -> bytes:
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: " + json.dumps(e).encode() + b"\n\n" for e in events)


def test_the_hook_judges_each_event_even_when_frames_straddle_chunks() -> None:
    sink = Sink()
    exchange = Exchange("POST", "/v1/responses", sink)
    good = {"type": "response.in_progress", "sequence_number": 1, "response": changed(status="in_progress")}
    bad = {"type": "response.created", "sequence_number": 0, "response": changed(user=None)}
    body = b": keep-alive\n\n" + frames(bad, good)

    exchange.sent({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    for start in range(0, len(body), 7):
        exchange.sent({"type": "http.response.body", "body": body[start : start + 7], "more_body": True})
    exchange.sent({"type": "http.response.body", "body": b"", "more_body": False})

    assert sink.events == 2
    assert [(v.where, v.path) for v in sink.take()] == [
        ("POST /v1/responses 200 event response.created", "/response/user")
    ]


def test_the_hook_reports_an_event_name_that_is_not_its_type_and_a_cut_stream() -> None:
    sink = Sink()
    exchange = Exchange("GET", "/v1/responses/resp_1", sink)
    event = {"type": "response.in_progress", "sequence_number": 1, "response": RESPONSE}
    body = b"event: response.created\ndata: " + json.dumps(event).encode() + b"\n\nevent: response.completed\ndata: {"

    exchange.sent({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    exchange.sent({"type": "http.response.body", "body": body, "more_body": False})

    assert {(v.spec, v.keyword) for v in sink.take()} == {("wire", "event"), ("wire", "frame")}


def test_of_two_variants_with_the_same_type_tag_the_closest_one_explains_the_miss() -> None:
    item = {"id": "msg_1", "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    page = {"object": "list", "data": [{**item, "status": None}], "first_id": "msg_1", "last_id": "msg_1"}

    found = judge.item_list({**page, "has_more": False})

    assert {(v.path, v.item_type) for v in found} == {("/data/0/status", "message")}


def test_a_kind_of_item_a_spec_does_not_define_is_a_missing_variant_not_a_bad_one() -> None:
    call = {"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_1", "name": "apply_patch", "input": "x"}

    assert where(judge.response(changed(output=[call]))) == {("openresponses", "/output/0", "variant")}
    without_input = {key: value for key, value in call.items() if key != "input"}
    assert ("openai", "/output/0", "required") in where(judge.response(changed(output=[without_input])))


def test_the_flat_error_event_is_openais_and_a_known_conflict_with_open_responses() -> None:
    flat = {"type": "error", "sequence_number": 4, "code": "server_error", "message": "boom", "param": None}

    found = judge.event(flat)

    assert where(found) == {("openresponses", "", "required")}
    assert all(allowlist.tolerated(v) in allowlist.SPEC_CONFLICTS for v in found)
    assert allowlist.tolerated(judge.event({**flat, "code": 5})[0]) is None
