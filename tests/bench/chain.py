"""Context-load cost of a chained turn: DynamoDB requests and time to resolve ``previous_response_id``.

Runs in the benchmark's own process against the moto server, with the gateway's real store and service. Chains
are written straight through ``DynamoResponseStore.put`` (one thread per depth, each record's parent the previous
one), then ``ResponsesService.prepare`` continues the newest turn while a botocore hook counts what is sent.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gateway.domain.ids import new_id, new_thread, now
from gateway.domain.ports import StoredResponse
from gateway.providers.registry import ProviderRegistry
from gateway.schemas.items import InputText, Message, OutputText
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.responses import Response, ResponseUsage
from gateway.settings import Settings
from gateway.store.dynamodb import DynamoResponseStore
from gateway.store.records import items_json, response_json
from tests.bench import procs
from tests.bench.measure import MODEL, PROMPT
from tests.bench.procs import TABLE, UPSTREAM_KEY
from tests.bench.servers import TOKEN
from tests.bench.stats import summary

TENANT = "bench"


class Counter:
    """API calls (``before-call``), HTTP attempts with retries (``before-send``), and the time from sending to
    having the whole reply, before botocore parses it (``before-parse``): the server's share of the time."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        self.sends = 0
        self.wire = 0.0
        self._sent = 0.0
        events = client.meta.events
        events.register("before-call.dynamodb", self._call)
        events.register("before-send.dynamodb", self._send)
        events.register("before-parse.dynamodb", self._received)

    def _call(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def _send(self, **_: Any) -> None:
        self.sends += 1
        self._sent = time.perf_counter()

    def _received(self, **_: Any) -> None:
        self.wire += time.perf_counter() - self._sent

    def reset(self) -> None:
        self.calls.clear()
        self.sends = 0
        self.wire = 0.0


def _turn(thread: str, parent: str | None, answer: str) -> StoredResponse:
    """One completed turn shaped like the gateway's own: a user message in, an assistant message out."""
    created = now()
    response_id = new_id("resp", thread)
    user = Message(id=new_id("msg", thread), role="user", content=[InputText(text=PROMPT)])
    output = Message(id=new_id("msg", thread), role="assistant", status="completed", content=[OutputText(text=answer)])
    response = Response(
        id=response_id,
        created_at=created,
        completed_at=created,
        status="completed",
        model=MODEL,
        output=[output],
        previous_response_id=parent,
        usage=ResponseUsage(input_tokens=12, output_tokens=20, total_tokens=32),
    )
    return StoredResponse(
        tenant=TENANT,
        id=response_id,
        thread=thread,
        parent=parent,
        status="completed",
        response=response,
        input_items=[user],
        expires_at=created + 86_400,
    )


def build_chain(store: DynamoResponseStore, depth: int, tokens: int) -> tuple[str, int]:
    """Write a chain of ``depth`` turns in a fresh thread; returns the newest id and the partition's bytes
    (the JSON payloads: a lower bound of DynamoDB's item size, which also counts attribute names and keys)."""
    thread = new_thread()
    parent: str | None = None
    size = 0
    for _ in range(depth):
        record = _turn(thread, parent, TOKEN * tokens)
        store.put(record)
        size += len(response_json(record.response)) + len(items_json(record.input_items))
        parent = record.id
    assert parent is not None
    return parent, size


def context_load(aws_endpoint: str, depths: list[int], repeats: int, tokens: int) -> list[dict[str, Any]]:
    """One event loop for every ``prepare``, as in the server (its worker threads are reused)."""
    return asyncio.run(_context_load(aws_endpoint, depths, repeats, tokens))


async def _context_load(aws_endpoint: str, depths: list[int], repeats: int, tokens: int) -> list[dict[str, Any]]:
    from gateway.domain.service import ResponsesService
    from gateway.store.threaded import ThreadedResponseStore

    client = procs.dynamodb(aws_endpoint)
    store = DynamoResponseStore(TABLE, client)
    settings = Settings(table_name=TABLE, openai_base_url="http://127.0.0.1:9/v1", openai_api_key=UPSTREAM_KEY)
    service = ResponsesService(ThreadedResponseStore(store), ProviderRegistry(settings), ttl_days=1)
    counter = Counter(client)
    results = []
    await service.prepare(TENANT, ResponseCreateParams.model_validate({"model": MODEL, "input": PROMPT}))  # warm
    for depth in depths:
        newest, size = build_chain(store, depth, tokens)
        params = ResponseCreateParams.model_validate({"model": MODEL, "input": PROMPT, "previous_response_id": newest})
        prepare_s: list[float] = []
        wire_s: list[float] = []
        calls: list[list[str]] = []
        sends: list[int] = []
        await service.prepare(TENANT, params)  # untimed: the first load of a partition is an outlier in moto
        history = 0
        for _ in range(repeats):
            counter.reset()
            start = time.perf_counter()
            run = await service.prepare(TENANT, params)
            prepare_s.append(time.perf_counter() - start)
            wire_s.append(counter.wire)
            calls.append(list(counter.calls))
            sends.append(counter.sends)
            history = len(run.history)
        assert history == 2 * depth, (history, depth)
        own_s = [total - wire for total, wire in zip(prepare_s, wire_s, strict=True)]
        results.append(
            {
                "depth": depth,
                "dynamodb_requests": max(len(c) for c in calls),
                "http_attempts": max(sends),
                "operations": sorted({op for c in calls for op in c}),
                "prepare_ms": {k: v * 1000.0 for k, v in summary(prepare_s).items()},
                "roundtrip_ms": {k: v * 1000.0 for k, v in summary(wire_s).items()},
                "gateway_side_ms": {k: v * 1000.0 for k, v in summary(own_s).items()},
                "history_items": history,
                "partition_kib": size / 1024.0,
                "read_units_strong": -(-size // 4096),
            }
        )
    return results
