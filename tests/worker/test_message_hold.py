"""A job's SQS message outlives every run that might still be going (issue 11, fault probe 4(1)).

Before the fix, a delivery that found a fresh heartbeat answered "done", Lambda's event source deleted the job's
only message, and a worker that then died left its response ``in_progress`` forever. Now the running attempt
keeps its own message invisible from its heartbeat, a delivery that finds a live owner leaves its message, and
the give-up rule counts failed runs (in DynamoDB), not SQS receives, which duplicate deliveries also consume.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from gateway.dev.worker import sqs_event
from gateway.domain.ports import Guard, StoredResponse
from gateway.handlers.worker import WorkerRuntime, handle_batch
from gateway.store.dynamodb import DynamoResponseStore
from tests.background import REGION, TENANT, Background, background, job_event
from tests.fakes.upstream import FakeUpstream, text_reply

__all__ = ["background"]
ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"
LEASE = 2.0
"""A short lease so takeovers happen within a test; the queue's visibility is shorter still (1 s), the
situation the probe found (a run outliving the visibility timeout)."""


def _sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


@contextlib.contextmanager
def _running(background: Background, event: dict[str, Any], **overrides: Any) -> Iterator[WorkerRuntime]:
    """Handle ``event`` on a thread; on exit the worker is killed where it stands (no cleanup of any kind)."""
    runtime = background.runtime(**overrides)
    tasks: list[Any] = []

    def run() -> None:
        task = runtime.loop.create_task(handle_batch(runtime.worker, event))
        tasks.append(task)
        with contextlib.suppress(BaseException):
            runtime.loop.run_until_complete(task)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield runtime
    finally:
        while not tasks:
            time.sleep(0.01)
        runtime.loop.call_soon_threadsafe(tasks[0].cancel)
        thread.join(5)
        runtime.close()


def _receive(queue_url: str) -> list[Any]:
    messages: list[Any] = (
        _sqs()
        .receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=0)
        .get("Messages", [])
    )
    return messages


def _event_source(background: Background, until: float, **overrides: Any) -> None:
    """Lambda's SQS event source until ``until`` (monotonic) or the response is done: receive, invoke, delete
    what the reply does not name as failed."""
    while time.monotonic() < until:
        for message in _receive(background.queue_url):
            runtime = background.runtime(**overrides)
            try:
                result = runtime.handle(sqs_event(message, ARN, REGION))
            finally:
                runtime.close()
            if not result["batchItemFailures"]:
                _sqs().delete_message(QueueUrl=background.queue_url, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(0.1)


def test_a_run_outliving_the_visibility_timeout_keeps_its_message_so_its_death_is_recovered(
    background: Background, upstream: FakeUpstream
) -> None:
    # Given a queue whose visibility timeout is shorter than a run, and a job picked up by a worker
    _sqs().set_queue_attributes(QueueUrl=background.queue_url, Attributes={"VisibilityTimeout": "1"})
    upstream.will(text_reply(*[f"slow{n} " for n in range(100)], delay=0.05), text_reply("recovered"))
    response_id = background.create()["id"]
    [message] = _receive(background.queue_url)
    first = sqs_event(message, ARN, REGION)

    with _running(background, first, worker_lease_seconds=LEASE):
        background.wait_for(lambda: background.record(response_id).status == "in_progress")
        # When the event source keeps polling past the visibility timeout while the run goes on
        _event_source(background, time.monotonic() + 1.8, worker_lease_seconds=LEASE)
        assert background.record(response_id).status == "in_progress"
    # ... and then the worker dies mid-run

    # Then the job's message still exists: it comes back once the lease has run out and the job is taken over
    _event_source(background, time.monotonic() + 10, worker_lease_seconds=LEASE)
    record = background.record(response_id)
    assert record.status == "completed" and record.attempt == 2
    assert record.response.output[0].content[0].text == "recovered"  # type: ignore[union-attr]
    assert _receive(background.queue_url) == []  # and once it is done, the message is gone


def test_a_delivery_that_finds_a_live_owner_leaves_its_message_until_the_lease_could_have_run_out(
    background: Background, upstream: FakeUpstream
) -> None:
    upstream.will(text_reply(*[f"w{n} " for n in range(40)], delay=0.05))
    response_id = background.create()["id"]
    with _running(background, job_event(response_id, 1), worker_lease_seconds=LEASE):
        background.wait_for(lambda: background.record(response_id).status == "in_progress")
        # The job's message, handed out again while the run goes on
        [message] = _receive(background.queue_url)

        runtime = background.runtime(worker_lease_seconds=LEASE)
        try:
            result = runtime.handle(sqs_event(message, ARN, REGION))
        finally:
            runtime.close()

        # Then it is reported failed (kept), and hidden for about the rest of the owner's lease
        assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
        assert _receive(background.queue_url) == []
        assert background.record(response_id).attempt == 1
    # And it comes back soon after the lease could have run out (not a whole visibility timeout later)
    background.wait_for(lambda: len(_receive(background.queue_url)) == 1, timeout=LEASE + 3)


def test_duplicate_deliveries_of_a_live_job_do_not_count_towards_giving_up(
    background: Background, upstream: FakeUpstream
) -> None:
    # Given a running job that SQS hands out again and again (receive counts 2..4 of at most 5)
    upstream.will(text_reply(*[f"w{n} " for n in range(60)], delay=0.05), text_reply("second run"))
    response_id = background.create_streamed()
    settings = {"worker_lease_seconds": LEASE, "worker_max_receives": 5, "worker_max_failures": 2}
    with _running(background, job_event(response_id, 1), **settings):
        background.wait_for(lambda: background.log.last_sequence(TENANT, response_id, 1) >= 3)
        for count in (2, 3, 4):
            assert background.deliver(response_id, count, **settings)["batchItemFailures"]
    # When its worker dies and the next delivery (the 4th receive) comes after the lease
    time.sleep(LEASE + 0.2)
    result = background.deliver(response_id, 4, **settings)

    # Then the job runs again (one failed run so far is not the limit) rather than being given up
    assert result == {"batchItemFailures": []}
    record = background.record(response_id)
    assert record.status == "completed" and record.attempt == 2


def test_a_job_whose_runs_keep_dying_is_failed_by_its_failure_count_whatever_the_receive_count(
    background: Background, upstream: FakeUpstream
) -> None:
    upstream.will(*[text_reply(*[f"w{n} " for n in range(60)], delay=0.05) for _ in range(3)])
    response_id = background.create_streamed()
    settings = {"worker_lease_seconds": LEASE, "worker_max_receives": 100, "worker_max_failures": 2}
    for attempt in (1, 2):  # two runs, each killed mid-stream
        with _running(background, job_event(response_id, 1), **settings):
            background.wait_for(lambda n=attempt: background.record(response_id).attempt == n)
            background.wait_for(lambda n=attempt: background.log.last_sequence(TENANT, response_id, n) >= 3)
        time.sleep(LEASE + 0.2)
    calls = len(upstream.requests)

    assert background.deliver(response_id, 1, **settings) == {"batchItemFailures": []}

    failed = background.client.get(f"/v1/responses/{response_id}").json()
    assert failed["status"] == "failed" and "could not be completed" in failed["error"]["message"]
    assert "2 times" in failed["error"]["message"]
    assert len(upstream.requests) == calls
    events = background.replay(response_id)
    assert events[-1]["type"] == "response.failed"


def test_giving_up_on_a_job_whose_owner_turns_out_alive_keeps_the_message(
    background: Background, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a run that stopped heartbeating (killed), on its last allowed failure
    upstream.will(text_reply(*[f"w{n} " for n in range(60)], delay=0.05))
    response_id = background.create_streamed()
    settings = {"worker_lease_seconds": LEASE, "worker_max_failures": 1}
    with _running(background, job_event(response_id, 1), **settings):
        background.wait_for(lambda: background.log.last_sequence(TENANT, response_id, 1) >= 3)
    time.sleep(LEASE + 0.2)

    # When its owner proves alive just before the delivery's "failed" write lands
    original = DynamoResponseStore.settle

    def settle(self: DynamoResponseStore, record: StoredResponse, guard: Guard, events: Any = ()) -> bool:
        if record.status == "failed":
            assert self.heartbeat(TENANT, response_id, 1, now=time.time(), snapshot=None)
        return original(self, record, guard, events)

    monkeypatch.setattr(DynamoResponseStore, "settle", settle)
    result = background.deliver(response_id, 2, **settings)

    # Then the write loses, and the message is kept (the owner may still die), not deleted
    assert result["batchItemFailures"]
    assert background.record(response_id).status == "in_progress"
