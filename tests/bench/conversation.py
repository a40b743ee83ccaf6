"""Context-load cost of a turn in a conversation: DynamoDB requests and time to resolve ``conversation``.

The same measurement as ``chain.py`` beside it, for the Conversations API's storage: a conversation of ``depth``
turns (a user message and an assistant answer each) is written through ``DynamoConversationStore``, then
``ResponsesService.prepare`` starts the next turn in it while the same botocore hook counts what is sent.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gateway.domain.ids import new_id, new_thread, now
from gateway.domain.ports import StoredConversation
from gateway.providers.registry import ProviderRegistry
from gateway.schemas.items import InputText, Message, OutputText
from gateway.schemas.requests import ResponseCreateParams
from gateway.settings import Settings
from gateway.store.conversations import DynamoConversationStore
from tests.bench import procs
from tests.bench.chain import TENANT, Counter
from tests.bench.measure import MODEL, PROMPT
from tests.bench.procs import TABLE, UPSTREAM_KEY
from tests.bench.servers import TOKEN
from tests.bench.stats import summary


def build_conversation(store: DynamoConversationStore, depth: int, tokens: int) -> str:
    """A fresh conversation of ``depth`` turns, appended one turn at a time as responses append them."""
    thread = new_thread()
    conversation = new_id("conv", thread)
    store.create(StoredConversation(TENANT, conversation, now(), {}), [])
    for _ in range(depth):
        user = Message(id=new_id("msg", thread), role="user", status="completed", content=[InputText(text=PROMPT)])
        answer = OutputText(text=TOKEN * tokens)
        assistant = Message(id=new_id("msg", thread), role="assistant", status="completed", content=[answer])
        store.append(TENANT, conversation, [user, assistant])
    return conversation


def conversation_load(aws_endpoint: str, depths: list[int], repeats: int, tokens: int) -> list[dict[str, Any]]:
    return asyncio.run(_conversation_load(aws_endpoint, depths, repeats, tokens))


async def _conversation_load(aws_endpoint: str, depths: list[int], repeats: int, tokens: int) -> list[dict[str, Any]]:
    from gateway.domain.service import ResponsesService
    from gateway.store.dynamodb import DynamoResponseStore
    from gateway.store.threaded import ThreadedConversationStore, ThreadedResponseStore

    client = procs.dynamodb(aws_endpoint)
    conversations = DynamoConversationStore(TABLE, client)
    settings = Settings(table_name=TABLE, openai_base_url="http://127.0.0.1:9/v1", openai_api_key=UPSTREAM_KEY)
    service = ResponsesService(
        ThreadedResponseStore(DynamoResponseStore(TABLE, client)),
        ProviderRegistry(settings),
        ttl_days=1,
        conversations=ThreadedConversationStore(conversations),
    )
    counter = Counter(client)
    results = []
    for depth in depths:
        conversation = build_conversation(conversations, depth, tokens)
        params = ResponseCreateParams.model_validate({"model": MODEL, "input": PROMPT, "conversation": conversation})
        await service.prepare(TENANT, params)  # untimed: the first load of a partition is an outlier in moto
        prepare_s: list[float] = []
        calls: list[list[str]] = []
        history = 0
        for _ in range(repeats):
            counter.reset()
            start = time.perf_counter()
            run = await service.prepare(TENANT, params)
            prepare_s.append(time.perf_counter() - start)
            calls.append(list(counter.calls))
            history = len(run.history)
        assert history == 2 * depth, (history, depth)
        results.append(
            {
                "depth": depth,
                "dynamodb_requests": max(len(c) for c in calls),
                "operations": sorted({op for c in calls for op in c}),
                "prepare_ms": {k: v * 1000.0 for k, v in summary(prepare_s).items()},
                "history_items": history,
            }
        )
    return results
