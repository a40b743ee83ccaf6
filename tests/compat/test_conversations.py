"""The Conversations API and ``conversation`` on create through the official SDK against the live server."""

from __future__ import annotations

import pytest
from openai import NotFoundError, OpenAI

from tests.compat.live import KEY_B, MODEL, SdkFactory
from tests.fakes.upstream import FakeUpstream, text_reply

pytestmark = pytest.mark.compat


def test_conversation_objects(client: OpenAI) -> None:
    created = client.conversations.create(
        metadata={"topic": "demo"}, items=[{"type": "message", "role": "user", "content": "Hello!"}]
    )
    assert created.id.startswith("conv_") and created.object == "conversation"
    assert created.metadata == {"topic": "demo"}

    assert client.conversations.retrieve(created.id) == created
    updated = client.conversations.update(created.id, metadata={"topic": "project-x"})
    assert updated.metadata == {"topic": "project-x"}

    deleted = client.conversations.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "conversation.deleted", True)
    with pytest.raises(NotFoundError):
        client.conversations.retrieve(created.id)


def test_conversation_items(client: OpenAI) -> None:
    conversation = client.conversations.create()
    added = client.conversations.items.create(
        conversation.id,
        items=[
            {"type": "message", "role": "user", "content": "one"},
            {"type": "message", "role": "assistant", "content": "two"},
        ],
    )
    assert [item.type for item in added.data] == ["message", "message"]
    user_item = added.data[0]

    page = client.conversations.items.list(conversation.id, order="asc", limit=1)
    assert [item.id for item in page.data] == [user_item.id] and page.has_more
    every = [item.id for item in client.conversations.items.list(conversation.id, order="asc", limit=1)]
    assert every == [item.id for item in added.data]  # the SDK's auto-paging follows `after`

    fetched = client.conversations.items.retrieve(user_item.id, conversation_id=conversation.id)
    assert fetched.type == "message" and fetched.role == "user"
    assert fetched.content[0].type == "input_text" and fetched.content[0].text == "one"

    after = client.conversations.items.delete(user_item.id, conversation_id=conversation.id)
    assert after.id == conversation.id and after.object == "conversation"
    remaining = client.conversations.items.list(conversation.id)
    assert [item.id for item in remaining.data] == [added.data[1].id]


def test_responses_remember_across_turns_in_a_conversation(client: OpenAI, upstream: FakeUpstream) -> None:
    conversation = client.conversations.create()
    upstream.will(text_reply("Nice to meet you, Ada."), text_reply("You are Ada."))

    first = client.responses.create(model=MODEL, input="I am Ada.", conversation=conversation.id)
    second = client.responses.create(model=MODEL, input="Who am I?", conversation={"id": conversation.id})

    assert first.conversation is not None and first.conversation.id == conversation.id
    assert second.output_text == "You are Ada."
    assert upstream.last["messages"] == [
        {"role": "user", "content": "I am Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "Who am I?"},
    ]
    items = client.conversations.items.list(conversation.id, order="asc")
    assert [item.type for item in items.data] == ["message"] * 4


def test_another_tenants_conversation_is_not_found(client: OpenAI, make_sdk: SdkFactory) -> None:
    conversation = client.conversations.create(items=[{"type": "message", "role": "user", "content": "mine"}])
    other = make_sdk(KEY_B)
    with pytest.raises(NotFoundError):
        other.conversations.retrieve(conversation.id)
    with pytest.raises(NotFoundError):
        other.conversations.items.list(conversation.id)
    with pytest.raises(NotFoundError):
        other.responses.create(model=MODEL, input="x", conversation=conversation.id)
