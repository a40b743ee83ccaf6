"""Compaction through the official SDK and the Agents SDK's compaction session, unmodified, against the live server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import Agent, OpenAIResponsesModel, Runner, SQLiteSession, set_tracing_disabled
from agents.memory import OpenAIResponsesCompactionSession
from openai import AsyncOpenAI, BadRequestError, OpenAI

from gateway.domain.compaction import SUMMARY_HEADER
from tests.compat.live import KEY_A, KEY_B, MODEL, LiveServer, SdkFactory
from tests.fakes.upstream import FakeUpstream, Reply, text_reply

pytestmark = pytest.mark.compat
set_tracing_disabled(True)  # the SDK would export traces to OpenAI
SUMMARY = "The user is Ada."


def summarizer_or(answer: str) -> Any:
    """A scripted model that writes the checkpoint when asked for one, and otherwise says ``answer``."""

    def reply(body: dict[str, Any]) -> Reply:
        system = body["messages"][0]
        asked = system["role"] == "system" and "checkpoint" in str(system["content"])
        return text_reply(SUMMARY if asked else answer)

    return reply


def test_sdk_compact_then_continue(client: OpenAI, upstream: FakeUpstream) -> None:
    upstream.will(text_reply(SUMMARY), text_reply("Ada."))
    compacted = client.responses.compact(
        model=MODEL,
        input=[
            {"role": "user", "content": "I am Ada."},
            {"role": "assistant", "content": "Hello Ada."},
        ],
    )
    assert compacted.object == "response.compaction"
    assert [item.type for item in compacted.output] == ["message", "compaction"]
    assert compacted.usage.total_tokens > 0

    window = [
        item.model_dump(exclude_none=True, warnings=False) for item in compacted.output
    ]  # user messages, as OpenAI sends
    answer = client.responses.create(model=MODEL, input=[*window, {"role": "user", "content": "Who am I?"}])

    assert answer.output_text == "Ada."
    assert [m["content"] for m in upstream.last["messages"]] == ["I am Ada.", SUMMARY_HEADER + SUMMARY, "Who am I?"]


def test_sdk_compact_item_of_another_tenant_is_refused(
    client: OpenAI, make_sdk: SdkFactory, upstream: FakeUpstream
) -> None:
    upstream.will(text_reply(SUMMARY))
    compacted = client.responses.compact(model=MODEL, input="I am Ada.")
    window = [
        item.model_dump(exclude_none=True, warnings=False) for item in compacted.output
    ]  # user messages, as OpenAI sends
    with pytest.raises(BadRequestError) as refused:
        make_sdk(KEY_B).responses.create(model=MODEL, input=[*window, {"role": "user", "content": "Who am I?"}])
    assert refused.value.code == "invalid_encrypted_content"


def test_agents_sdk_compaction_session_compacts_and_keeps_working(
    live_server: LiveServer, upstream: FakeUpstream
) -> None:
    # GIVEN an Agents SDK agent whose session compacts through the gateway after every run
    client = AsyncOpenAI(base_url=live_server.base_url, api_key=KEY_A, max_retries=0, timeout=10.0)
    agent = Agent(name="assistant", model=OpenAIResponsesModel(model=MODEL, openai_client=client))
    session = OpenAIResponsesCompactionSession(
        "ada", SQLiteSession("ada"), client=client, model=MODEL, should_trigger_compaction=lambda _: True
    )
    upstream.will(*(summarizer_or(answer) for answer in ("Hello Ada.", "Hello Ada.", "You are Ada.", "x", "x")))

    async def two_runs() -> tuple[str, list[str]]:
        await Runner.run(agent, "I am Ada.", session=session)
        result = await Runner.run(agent, "Who am I?", session=session)
        items = await session.get_items()
        await client.close()
        return str(result.final_output), [str(item.get("type", "message")) for item in items]

    # WHEN it runs twice
    answer, kinds = asyncio.run(two_runs())

    # THEN the session holds a compacted history, and the second run's model call saw the checkpoint
    assert answer == "You are Ada."
    assert kinds[-1] == "compaction" and "compaction" in kinds
    answered = [r for r in upstream.requests if "checkpoint" not in str(r["messages"][0]["content"])]
    assert [m["content"] for m in answered[1]["messages"]][-2:] == [SUMMARY_HEADER + SUMMARY, "Who am I?"]
