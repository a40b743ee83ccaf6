"""Create, retrieve, delete, input items and chaining through the official SDK against the live server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai import NotFoundError, OpenAI

from tests.compat.live import MODEL, UPSTREAM_KEY
from tests.fakes.upstream import FakeUpstream, text_reply, usage_chunk

pytestmark = pytest.mark.compat


def test_create_returns_a_completed_response(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given an upstream that answers in two pieces and reports usage
    upstream.will(text_reply("Hello", " there!", usage=usage_chunk(prompt=12, completion=5)))

    # When
    response = client.responses.create(model=MODEL, input="hi")

    # Then the SDK sees a completed response with its text, usage and request id
    assert response.id.startswith("resp_")
    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == MODEL
    assert response.output_text == "Hello there!"
    assert response.completed_at is not None
    assert response.completed_at >= response.created_at
    assert response.error is None
    assert response.incomplete_details is None
    [message] = response.output
    assert message.type == "message"
    assert message.id.startswith("msg_")
    assert message.role == "assistant"
    assert message.status == "completed"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 5)
    assert response.usage.total_tokens == 17
    assert response._request_id is not None
    assert response._request_id.startswith("req_")
    # And the upstream got one streamed Chat Completions call with the gateway's key, not the caller's
    [sent] = upstream.requests
    assert sent["model"] == MODEL
    assert sent["messages"] == [{"role": "user", "content": "hi"}]
    assert sent["stream"] is True
    assert upstream.headers[0]["authorization"] == f"Bearer {UPSTREAM_KEY}"


def test_retrieve_returns_the_same_json_as_create(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given a created response, as raw JSON
    created = client.responses.with_raw_response.create(model=MODEL, input="hi", metadata={"k": "v"})
    created_json = json.loads(created.text)

    # When it is retrieved
    retrieved = client.responses.with_raw_response.retrieve(created_json["id"])

    # Then the bodies are identical, and so are the SDK objects
    assert json.loads(retrieved.text) == created_json
    assert retrieved.parse().model_dump() == created.parse().model_dump()
    assert created_json["metadata"] == {"k": "v"}
    # And retrieving does not call the upstream
    assert len(upstream.requests) == 1


def test_delete_then_retrieve_and_delete_again_are_not_found(client: OpenAI) -> None:
    # Given two stored responses
    first = client.responses.create(model=MODEL, input="hi")
    second = client.responses.create(model=MODEL, input="hi again")

    # When they are deleted, the wire body is the deletion stub and the SDK returns None (it ignores the body)
    raw = client.responses.with_raw_response.delete(first.id)
    assert json.loads(raw.text) == {"id": first.id, "object": "response", "deleted": True}
    assert client.responses.delete(second.id) is None

    # Then each is gone for retrieve and for a second delete
    for deleted in (first, second):
        with pytest.raises(NotFoundError) as retrieve_error:
            client.responses.retrieve(deleted.id)
        assert deleted.id in retrieve_error.value.message
        with pytest.raises(NotFoundError):
            client.responses.delete(deleted.id)


CONVERSATION: list[Any] = [
    {"role": "developer", "content": "first"},
    {"role": "user", "content": "second"},
    {"role": "assistant", "content": "third"},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fourth"}]},
]
IN_ORDER = ["first", "second", "third", "fourth"]


def _text(item: object) -> str:
    content = getattr(item, "content", None)
    assert content, f"not a message item: {item!r}"
    text: str = content[0].text
    return text


def test_input_items_page_forward_with_after(client: OpenAI) -> None:
    # Given a response whose input has four messages
    response = client.responses.create(model=MODEL, input=CONVERSATION)

    # When walking one item per page, oldest first, each page starting after the previous page's last id
    page = client.responses.input_items.list(response.id, limit=1, order="asc")
    pages = [page]
    while page.has_more:
        assert page.last_id is not None
        page = client.responses.input_items.list(response.id, limit=1, order="asc", after=page.last_id)
        pages.append(page)

    # Then every item comes once, in order, one per page, each page's first/last id naming its item
    items = [item for each in pages for item in each.data]
    assert [_text(item) for item in items] == IN_ORDER
    assert [len(each.data) for each in pages] == [1, 1, 1, 1]
    assert all(each.first_id == each.last_id == each.data[0].id for each in pages)
    ids = [item.id for item in items]
    assert len(set(ids)) == len(ids)
    assert all(item_id.startswith("msg_") for item_id in ids)
    # And the SDK's own auto-pagination (after = last item's id) walks the same items
    walked = client.responses.input_items.list(response.id, limit=1, order="asc")
    assert [item.id for item in walked] == ids


def test_input_items_default_to_newest_first(client: OpenAI) -> None:
    # Given a response with four input messages
    response = client.responses.create(model=MODEL, input=CONVERSATION)

    # When the items are listed with no options
    page = client.responses.input_items.list(response.id)

    # Then they come newest first, all on one page
    assert [_text(item) for item in page.data] == IN_ORDER[::-1]
    assert page.first_id == page.data[0].id
    assert page.last_id == page.data[-1].id
    assert page.has_more is False
    # And a string input is stored as one user message with an input_text part
    single = client.responses.create(model=MODEL, input="just this")
    [item] = client.responses.input_items.list(single.id).data
    assert item.type == "message"
    assert item.role == "user"
    assert item.content[0].type == "input_text"
    assert _text(item) == "just this"


def test_previous_response_id_carries_the_turn_but_not_its_instructions(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given a first turn with instructions
    upstream.will(text_reply("Hi Ada."), text_reply("Your name is Ada."))
    first = client.responses.create(model=MODEL, input="My name is Ada.", instructions="Answer in one line.")
    assert upstream.requests[0]["messages"] == [
        {"role": "system", "content": "Answer in one line."},
        {"role": "user", "content": "My name is Ada."},
    ]

    # When a second turn continues from it without instructions
    second = client.responses.create(model=MODEL, input="What is my name?", previous_response_id=first.id)

    # Then the upstream saw turn one's input and output, then the new input, and no system message
    assert upstream.requests[1]["messages"] == [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": "Hi Ada."},
        {"role": "user", "content": "What is my name?"},
    ]
    # And the response echoes the chain, not the old instructions
    assert second.previous_response_id == first.id
    assert second.instructions is None
    assert second.output_text == "Your name is Ada."
