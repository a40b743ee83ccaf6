"""Background mode in-process: the app with a moto jobs queue, and the real worker on the fake upstream.

``Background.drain()`` plays Lambda's SQS event source: it receives what the app enqueued and hands it to the
worker as SQS events. ``start()`` does the same on a thread, for tests that watch a run while it happens.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from gateway.dev.worker import sqs_event
from gateway.domain.ports import BackgroundJob, StoredResponse
from gateway.handlers.worker import WorkerRuntime, build_worker
from gateway.providers.registry import ProviderRegistry
from gateway.store.dynamodb import DynamoResponseStore
from gateway.store.events import DynamoEventLog
from tests.conftest import BUCKET, TABLE, AppFactory, make_settings
from tests.fakes.upstream import FakeUpstream
from tests.sse import parse

TENANT = "default"
REGION = "us-east-1"
FAST = {
    "event_flush_seconds": 0.05,
    "stream_poll_seconds": 0.05,
    "worker_heartbeat_seconds": 0.1,
}
"""Short intervals so tests see progress quickly (behaviour is the same at the default pace)."""


@dataclass
class Background:
    client: TestClient
    queue_url: str
    upstream: FakeUpstream
    settings_overrides: dict[str, Any]
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def store(self) -> DynamoResponseStore:
        return DynamoResponseStore(TABLE, boto3.client("dynamodb", region_name=REGION))

    @property
    def log(self) -> DynamoEventLog:
        return DynamoEventLog(TABLE, boto3.client("dynamodb", region_name=REGION))

    def runtime(self, clock: Callable[[], float] | None = None, **overrides: Any) -> WorkerRuntime:
        """A fresh worker (its own loop and upstream client), as a new Lambda instance would be."""
        settings = make_settings(**{**self.settings_overrides, **overrides})
        registry = ProviderRegistry(settings, http_transport=self.upstream.transport())
        worker = build_worker(settings, providers=registry, clock=clock or time.time)
        return WorkerRuntime(worker, asyncio.new_event_loop())

    def deliver(self, response_id: str, receive_count: int = 1, **overrides: Any) -> dict[str, Any]:
        """One delivery of the job for ``response_id``, straight to a worker (the queue is not involved)."""
        runtime = self.runtime(**overrides)
        try:
            return runtime.handle(job_event(response_id, receive_count))
        finally:
            runtime.close()

    def drain(self) -> list[dict[str, Any]]:
        """Receive every queued job and run it, deleting what the worker did not report failed."""
        sqs = boto3.client("sqs", region_name=REGION)
        results = []
        while messages := sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=1, AttributeNames=["All"]
        ).get("Messages", []):
            [message] = messages
            runtime = self.runtime()
            try:
                result = runtime.handle(sqs_event(message, "arn:aws:sqs:us-east-1:123456789012:jobs", REGION))
            finally:
                runtime.close()
            if not result["batchItemFailures"]:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            results.append(result)
        return results

    def start(self, response_id: str, receive_count: int = 1) -> threading.Thread:
        """Deliver on a thread (the worker runs while the test watches)."""
        thread = threading.Thread(target=self.deliver, args=(response_id, receive_count), daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread

    def create(self, **body: Any) -> dict[str, Any]:
        reply = self.client.post("/v1/responses", json={"model": "gpt-4o", "input": "hi", "background": True, **body})
        assert reply.status_code == 200, reply.text
        created: dict[str, Any] = reply.json()
        return created

    def create_streamed(self, **body: Any) -> str:
        """Create a background+stream response, read its first event, hang up; returns its id."""
        request = {"model": "gpt-4o", "input": "hi", "background": True, "stream": True, **body}
        with self.client.stream("POST", "/v1/responses", json=request) as reply:
            assert reply.status_code == 200, reply.read()
            lines = reply.iter_lines()
            assert next(lines) == "event: response.created"
            response_id: str = json.loads(next(lines)[6:])["response"]["id"]
        return response_id

    def record(self, response_id: str) -> StoredResponse:
        record = self.store.get(TENANT, response_id)
        assert record is not None
        return record

    def replay(self, response_id: str, query: str = "") -> list[dict[str, Any]]:
        """GET ?stream=true, checked for one coherent sequence: 0, 1, 2, ... with the SSE framing intact."""
        reply = self.client.get(f"/v1/responses/{response_id}?stream=true{query}")
        assert reply.status_code == 200, reply.text
        events = parse(reply.text)
        assert all(name == data["type"] for name, data in events)
        data = [event for _, event in events]
        first = data[0]["sequence_number"] if data else 0
        assert [event["sequence_number"] for event in data] == list(range(first, first + len(data)))
        return data

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.02)


def job_event(response_id: str, receive_count: int = 1, tenant: str = TENANT) -> dict[str, Any]:
    """An SQS event carrying the job for ``response_id``, delivered for the ``receive_count``-th time."""
    message = {
        "MessageId": f"msg-{response_id[-8:]}-{receive_count}",
        "ReceiptHandle": "handle",
        "Body": BackgroundJob(tenant=tenant, response_id=response_id).body(),
        "Attributes": {"ApproximateReceiveCount": str(receive_count)},
    }
    return sqs_event(message, "arn:aws:sqs:us-east-1:123456789012:jobs", REGION)  # type: ignore[arg-type]


@pytest.fixture
def background(make_client: AppFactory, upstream: FakeUpstream) -> Iterator[Background]:
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="jobs")["QueueUrl"]
    overrides: dict[str, Any] = {"queue_url": queue_url, "payload_bucket": BUCKET, **FAST}
    harness = Background(make_client(**overrides), queue_url, upstream, overrides)
    yield harness
    for thread in harness.threads:
        thread.join(10)
