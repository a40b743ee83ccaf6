"""The Conversations API and ``conversation`` on create through the official SDK against the live server."""

from __future__ import annotations

import asyncio

import pytest
from agents import Agent, OpenAIResponsesModel, Runner, set_tracing_disabled
from agents.memory import OpenAIConversationsSession
from openai import AsyncOpenAI, NotFoundError, OpenAI

from tests.compat.live import KEY_A, KEY_B, MODEL, LiveServer, SdkFactory
from tests.fakes.upstream import FakeUpstream, text_reply

pytestmark = pytest.mark.compat
set_tracing_disabled(True)  # the SDK would export traces to OpenAI


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


def test_agents_sdk_conversations_session_remembers_across_runs(
    live_server: LiveServer, upstream: FakeUpstream
) -> None:
    # GIVEN an Agents SDK agent whose history lives in an OpenAIConversationsSession on the gateway
    client = AsyncOpenAI(base_url=live_server.base_url, api_key=KEY_A, max_retries=0, timeout=10.0)
    agent = Agent(name="assistant", model=OpenAIResponsesModel(model=MODEL, openai_client=client))
    session = OpenAIConversationsSession(openai_client=client)
    upstream.will(text_reply("Nice to meet you, Ada."), text_reply("You are Ada."))

    async def two_runs() -> str:
        await Runner.run(agent, "I am Ada.", session=session)
        result = await Runner.run(agent, "Who am I?", session=session)
        popped = await session.pop_item()
        assert popped is not None and popped["role"] == "assistant"
        remaining = await session.get_items()
        await session.clear_session()
        await client.close()
        return f"{result.final_output}|{len(remaining)}"

    # WHEN it runs twice (then pops its last item and clears the session)
    outcome = asyncio.run(two_runs())

    # THEN the second run's model call saw the first run, and the session's edits went through
    assert outcome == "You are Ada.|3"
    texts = [message["content"] for message in upstream.last["messages"]]
    assert texts[-3:] == ["I am Ada.", "Nice to meet you, Ada.", "Who am I?"]
