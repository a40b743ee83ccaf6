"""Compaction through the app: ``POST /v1/responses/compact``, ``compaction_trigger`` and ``context_management``.

Shapes from openai-python's ``CompactedResponse`` / ``ResponseCompactionItem`` and Open Responses'
``CompactResource``; the summarizer is the fake upstream, so what the model is asked and what it sees afterwards
are read off the upstream's requests.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.domain.compaction import CHECKPOINT_REQUEST, SUMMARY_HEADER
from tests.background import Background, background
from tests.conftest import AppFactory
from tests.fakes.upstream import FakeUpstream, error_reply, text_reply, tool_reply, usage_chunk
from tests.sse import stream

__all__ = ["background"]
MODEL = "gpt-4o-mini"
SUMMARY = "The user's code word is slate. Nothing is pending."
Json = dict[str, Any]


def user(text: str) -> Json:
    return {"type": "message", "role": "user", "content": text}


def assistant(text: str) -> Json:
    return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}


CONVERSATION = [user("Remember the code word: slate."), assistant("OK."), user("Compress this for later.")]


def compact(client: TestClient, **body: Any) -> Json:
    reply = client.post("/v1/responses/compact", json={"model": MODEL, **body})
    assert reply.status_code == 200, reply.text
    return reply.json()


def texts_of(messages: list[Json]) -> list[str]:
    """Every text an upstream chat request carries, message by message."""
    found: list[str] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            found.append(content)
        elif isinstance(content, list):
            found.extend(part.get("text", "") for part in content)
    return found


def test_compact_returns_the_user_messages_then_one_sealed_compaction_item(
    client: TestClient, upstream: FakeUpstream
) -> None:
    upstream.will(text_reply(SUMMARY, usage=usage_chunk(prompt=120, completion=30)))

    body = compact(client, input=CONVERSATION)

    assert body["object"] == "response.compaction" and isinstance(body["created_at"], int) and body["id"]
    *kept, item = body["output"]
    assert [(m["type"], m["role"], m["content"][0]["text"]) for m in kept] == [
        ("message", "user", "Remember the code word: slate."),
        ("message", "user", "Compress this for later."),
    ]
    assert item["type"] == "compaction" and item["id"].startswith("cmp_")
    assert item["encrypted_content"].startswith("gw1.") and SUMMARY not in item["encrypted_content"]
    assert body["usage"]["input_tokens"] == 120 and body["usage"]["output_tokens"] == 30
    assert body["usage"]["total_tokens"] == 150
    # One summarization call: the conversation, then the request for a checkpoint; no tools offered.
    (request,) = upstream.requests
    assert "checkpoint" in request["messages"][0]["content"] and request["messages"][0]["role"] == "system"
    assert texts_of(request["messages"][1:]) == [
        "Remember the code word: slate.",
        "OK.",
        "Compress this for later.",
        CHECKPOINT_REQUEST,
    ]
    assert "tools" not in request


def test_compact_requires_a_model(client: TestClient, upstream: FakeUpstream) -> None:
    reply = client.post("/v1/responses/compact", json={"input": CONVERSATION})
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "model"
    assert reply.json()["error"]["code"] == "missing_required_parameter"
    assert upstream.requests == []


def test_compact_refuses_unknown_fields(client: TestClient) -> None:
    reply = client.post("/v1/responses/compact", json={"model": MODEL, "input": "x", "stream": True})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "stream"


def test_the_compacted_window_continues_a_new_chain(client: TestClient, upstream: FakeUpstream) -> None:
    """Open Responses' compact-new-chain case, over HTTP: the compact output, then a new message, no chain."""
    upstream.will(text_reply(SUMMARY), text_reply("compacted"))
    window = compact(client, input=CONVERSATION)["output"]

    reply = client.post("/v1/responses", json={"model": MODEL, "store": False, "input": [*window, user("Go on.")]})

    assert reply.status_code == 200, reply.text
    assert reply.json()["output"][0]["content"][0]["text"] == "compacted"
    seen = texts_of(upstream.last["messages"])
    # The user messages verbatim, the checkpoint in their place of everything else, then the new input.
    assert seen == [
        "Remember the code word: slate.",
        "Compress this for later.",
        SUMMARY_HEADER + SUMMARY,
        "Go on.",
    ]
    assert "OK." not in seen


def test_a_compaction_item_altered_or_from_another_tenant_is_refused(
    make_client: AppFactory, upstream: FakeUpstream
) -> None:
    client = make_client(api_keys="acme:key-acme,globex:key-globex")
    acme, globex = {"authorization": "Bearer key-acme"}, {"authorization": "Bearer key-globex"}
    upstream.will(text_reply(SUMMARY))
    reply = client.post("/v1/responses/compact", json={"model": MODEL, "input": CONVERSATION}, headers=acme)
    item = reply.json()["output"][-1]
    calls = len(upstream.requests)

    tampered = {**item, "encrypted_content": item["encrypted_content"][:-4] + "AAAA"}
    for headers, sent in ((acme, tampered), (globex, item)):
        refused = client.post("/v1/responses", json={"model": MODEL, "input": [sent, user("Go on.")]}, headers=headers)
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "invalid_encrypted_content" and item["id"] in error["message"]
    assert len(upstream.requests) == calls  # nothing reached the model


def test_compaction_trigger_streams_exactly_one_compaction_item(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply(SUMMARY, usage=usage_chunk(prompt=50, completion=10)))

    events = stream(client, {"model": MODEL, "store": False, "input": [*CONVERSATION, {"type": "compaction_trigger"}]})

    assert [event["type"] for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
        "response.completed",
    ]
    added, done = events[2]["item"], events[3]["item"]
    assert added == done and done["type"] == "compaction" and done["encrypted_content"].startswith("gw1.")
    final = events[-1]["response"]
    assert final["output"] == [done] and final["usage"]["total_tokens"] == 60
    assert len(upstream.requests) == 1  # the summary is the only model call


def test_compaction_trigger_must_be_the_last_item(client: TestClient, upstream: FakeUpstream) -> None:
    reply = client.post("/v1/responses", json={"model": MODEL, "input": [{"type": "compaction_trigger"}, user("hi")]})
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "input[0]"
    assert upstream.requests == []


def test_a_stored_compaction_shortens_the_chain_that_follows(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("OK."), text_reply(SUMMARY), text_reply("slate"))
    first = client.post("/v1/responses", json={"model": MODEL, "input": "Remember the code word: slate."}).json()
    compacted = client.post(
        "/v1/responses",
        json={"model": MODEL, "previous_response_id": first["id"], "input": [{"type": "compaction_trigger"}]},
    ).json()
    assert [item["type"] for item in compacted["output"]] == ["compaction"]

    client.post("/v1/responses", json={"model": MODEL, "previous_response_id": compacted["id"], "input": "The word?"})

    assert texts_of(upstream.last["messages"]) == [
        "Remember the code word: slate.",
        SUMMARY_HEADER + SUMMARY,
        "The word?",
    ]
    # The stored item is the one the client saw, and it reads back the same.
    stored = client.get(f"/v1/responses/{compacted['id']}").json()
    assert stored["output"] == compacted["output"]


def test_compact_a_stored_chain_by_previous_response_id(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("OK."), text_reply(SUMMARY))
    first = client.post("/v1/responses", json={"model": MODEL, "input": "Remember the code word: slate."}).json()

    body = compact(client, previous_response_id=first["id"])

    assert [item["type"] for item in body["output"]] == ["message", "compaction"]
    assert texts_of(upstream.last["messages"][1:]) == ["Remember the code word: slate.", "OK.", CHECKPOINT_REQUEST]


def test_context_management_compacts_past_the_threshold_then_answers(
    client: TestClient, upstream: FakeUpstream
) -> None:
    upstream.will(
        text_reply(SUMMARY, usage=usage_chunk(prompt=2000, completion=40)),
        text_reply("Done.", usage=usage_chunk(prompt=300, completion=5)),
    )
    long_input = [user("x" * 8000), assistant("noted"), user("What now?")]

    reply = client.post(
        "/v1/responses",
        json={
            "model": MODEL,
            "input": long_input,
            "context_management": [{"type": "compaction", "compact_threshold": 1000}],
        },
    )

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [item["type"] for item in body["output"]] == ["compaction", "message"]
    assert body["output"][1]["content"][0]["text"] == "Done."
    assert body["usage"]["input_tokens"] == 2300 and body["usage"]["output_tokens"] == 45
    summarize, answer = upstream.requests
    assert texts_of(summarize["messages"])[-1] == CHECKPOINT_REQUEST
    assert texts_of(answer["messages"]) == ["x" * 8000, "What now?", SUMMARY_HEADER + SUMMARY]


def test_context_management_under_the_threshold_does_not_compact(client: TestClient, upstream: FakeUpstream) -> None:
    reply = client.post(
        "/v1/responses",
        json={"model": MODEL, "input": "hi", "context_management": [{"type": "compaction", "compact_threshold": 1000}]},
    )
    assert [item["type"] for item in reply.json()["output"]] == ["message"]
    assert len(upstream.requests) == 1


def test_context_management_without_threshold_compacts_when_the_context_does_not_fit(
    client: TestClient, upstream: FakeUpstream
) -> None:
    upstream.will(
        error_reply(400, "This model's maximum context length is 8192 tokens.", code="context_length_exceeded"),
        text_reply(SUMMARY),
        text_reply("Done."),
    )
    reply = client.post(
        "/v1/responses",
        json={"model": MODEL, "input": CONVERSATION, "context_management": [{"type": "compaction"}]},
    )
    assert reply.status_code == 200, reply.text
    assert [item["type"] for item in reply.json()["output"]] == ["compaction", "message"]
    assert len(upstream.requests) == 3


@pytest.mark.parametrize(
    ("management", "param"),
    [
        ([{"type": "truncation"}], "context_management[0].type"),
        ([{"type": "compaction", "compact_threshold": 10}], "context_management[0].compact_threshold"),
    ],
)
def test_context_management_is_validated(client: TestClient, management: list[Json], param: str) -> None:
    reply = client.post("/v1/responses", json={"model": MODEL, "input": "hi", "context_management": management})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == param


def test_tool_rounds_before_a_compaction_reach_the_model_only_as_the_checkpoint(
    client: TestClient, upstream: FakeUpstream
) -> None:
    upstream.will(tool_reply(("call_1", "lookup", "{}")), text_reply("It is 42."), text_reply(SUMMARY))
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}]
    first = client.post("/v1/responses", json={"model": MODEL, "input": "Look it up.", "tools": tools}).json()
    output = {"type": "function_call_output", "call_id": first["output"][0]["call_id"], "output": "42"}
    second = client.post(
        "/v1/responses", json={"model": MODEL, "previous_response_id": first["id"], "input": [output], "tools": tools}
    ).json()
    window = compact(client, previous_response_id=second["id"])["output"]
    # The summarizer saw the whole tool round, with no tools offered.
    roles = [m["role"] for m in upstream.last["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"] and "tools" not in upstream.last

    client.post("/v1/responses", json={"model": MODEL, "input": [*window, user("And?")], "tools": tools})

    assert [(m["role"], "tool_calls" in m) for m in upstream.last["messages"]] == [
        ("user", False),
        ("user", False),
        ("user", False),
    ]


def test_compacting_a_pending_call_is_refused(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(tool_reply(("call_1", "lookup", "{}")))
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}]
    first = client.post("/v1/responses", json={"model": MODEL, "input": "Look it up.", "tools": tools}).json()

    reply = client.post("/v1/responses/compact", json={"model": MODEL, "previous_response_id": first["id"]})

    assert reply.status_code == 400 and "call_1" in reply.json()["error"]["message"]
    assert len(upstream.requests) == 1


def test_background_compaction_trigger(background: Background, upstream: FakeUpstream) -> None:
    upstream.will(text_reply(SUMMARY))
    queued = background.create(model=MODEL, input=[*CONVERSATION, {"type": "compaction_trigger"}])
    background.drain()
    done = background.client.get(f"/v1/responses/{queued['id']}").json()
    assert done["status"] == "completed"
    assert [item["type"] for item in done["output"]] == ["compaction"]


def test_a_conversation_keeps_its_compaction_and_continues_from_it(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("OK."), text_reply(SUMMARY), text_reply("slate"))
    conversation = client.post("/v1/conversations", json={}).json()["id"]
    client.post("/v1/responses", json={"model": MODEL, "conversation": conversation, "input": "Code word: slate."})
    compacted = client.post(
        "/v1/responses",
        json={"model": MODEL, "conversation": conversation, "input": [{"type": "compaction_trigger"}]},
    ).json()

    client.post("/v1/responses", json={"model": MODEL, "conversation": conversation, "input": "The word?"})

    items = client.get(f"/v1/conversations/{conversation}/items", params={"order": "asc"}).json()["data"]
    assert [item["type"] for item in items] == ["message", "message", "compaction", "message", "message"]
    assert items[2] == compacted["output"][0]  # the trigger itself is not an item
    assert texts_of(upstream.last["messages"]) == ["Code word: slate.", SUMMARY_HEADER + SUMMARY, "The word?"]
