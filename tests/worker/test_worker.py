"""The worker under SQS's at-least-once delivery: duplicates, dead workers, races and exhausted receives."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway.domain.ports import BackgroundJob, Guard, StoredResponse
from gateway.store.dynamodb import DynamoResponseStore
from tests.background import TENANT, Background, background, job_event
from tests.fakes.upstream import FakeUpstream, Json, Reply, error_reply, text_reply

__all__ = ["background"]
TERMINAL_EVENTS = {"response.completed", "response.failed", "response.incomplete"}
LEASE = 60.0


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def _text(events: list[dict[str, Any]]) -> str:
    return "".join(event["delta"] for event in events if event["type"] == "response.output_text.delta")


def _assert_one_run(events: list[dict[str, Any]], status: str) -> None:
    """One coherent sequence: opened once, one terminal event, last."""
    types = _types(events)
    assert types[:3] == ["response.created", "response.queued", "response.in_progress"]
    assert types.count("response.created") == 1 and types.count("response.in_progress") == 1
    assert [t for t in types if t in TERMINAL_EVENTS] == [f"response.{status}"] and types[-1] == f"response.{status}"


def _kill_mid_run(background: Background, response_id: str, *, after_events: int) -> None:
    """Run a delivery and kill its worker (no cleanup of any kind) once ``after_events`` events are stored."""
    runtime = background.runtime()
    started: dict[str, Any] = {}

    def run() -> None:
        task = runtime.loop.create_task(
            runtime.worker.process(BackgroundJob(tenant=TENANT, response_id=response_id), 1)
        )
        started["task"] = task
        with contextlib.suppress(BaseException):
            runtime.loop.run_until_complete(task)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    background.wait_for(lambda: background.log.last_sequence(TENANT, response_id, 1) >= after_events)
    runtime.loop.call_soon_threadsafe(started["task"].cancel)
    thread.join(5)
    runtime.close()
    assert background.record(response_id).status == "in_progress"


def test_a_job_delivered_three_times_produces_one_result_and_one_set_of_events(
    background: Background, upstream: FakeUpstream
) -> None:
    response_id = background.create_streamed(input="once")

    results = [background.deliver(response_id, count) for count in (1, 1, 2)]

    assert results == [{"batchItemFailures": []}] * 3
    assert len(upstream.requests) == 1
    record = background.record(response_id)
    assert record.status == "completed" and record.attempt == 1
    events = background.replay(response_id)
    _assert_one_run(events, "completed")
    assert _text(events) == "echo: once"
    assert background.log.read(TENANT, response_id, 2, -1) == []


def test_a_delivery_while_the_job_runs_elsewhere_keeps_its_message_and_does_nothing_else(
    background: Background, upstream: FakeUpstream
) -> None:
    upstream.will(text_reply(*[f"w{n} " for n in range(20)], delay=0.03))
    response_id = background.create_streamed()
    running = background.start(response_id)
    background.wait_for(lambda: background.record(response_id).status == "in_progress")

    # kept (a batch item failure): should the running worker die, this may be the job's only message
    assert background.deliver(response_id, 2) == {
        "batchItemFailures": [{"itemIdentifier": f"msg-{response_id[-8:]}-2"}]
    }

    running.join(10)
    assert len(upstream.requests) == 1
    _assert_one_run(background.replay(response_id), "completed")


def test_a_dead_worker_is_taken_over_and_replay_shows_only_the_new_attempt(
    background: Background, upstream: FakeUpstream
) -> None:
    # Given a worker killed mid-run, after it stored part of its stream
    upstream.will(text_reply(*[f"old{n} " for n in range(40)], delay=0.03), text_reply("new ", "text"))
    response_id = background.create_streamed()
    _kill_mid_run(background, response_id, after_events=6)
    dead_events = background.log.read(TENANT, response_id, 1, -1)

    # When the message comes back before the lease runs out, it is kept and nothing else happens (the worker
    # might be alive)
    assert background.deliver(response_id, 2)["batchItemFailures"]
    assert background.record(response_id).attempt == 1
    # And when it comes back after the lease, the next delivery takes over
    later = background.runtime(clock=lambda: time.time() + LEASE + 1)
    try:
        assert later.handle(job_event(response_id, 2)) == {"batchItemFailures": []}
    finally:
        later.close()

    # Then it ends completed, under a new attempt
    record = background.record(response_id)
    assert record.status == "completed" and record.attempt == 2
    assert record.response.output[0].content[0].text == "new text"  # type: ignore[union-attr]
    # And a replay is one coherent sequence 0..N of the new attempt: nothing duplicated, missing or stale
    events = background.replay(response_id)
    _assert_one_run(events, "completed")
    assert _text(events) == "new text"
    assert "old" in "".join(getattr(e, "delta", "") for e in dead_events)  # the dead run's events exist, unread


def test_a_job_whose_run_raises_is_retried_by_the_next_delivery_at_once(
    background: Background, upstream: FakeUpstream
) -> None:
    def explode(body: Json) -> Reply:
        raise RuntimeError("worker crashed")

    upstream.will(explode)
    response_id = background.create_streamed()

    first = background.deliver(response_id, 1)
    record = background.record(response_id)
    second = background.deliver(response_id, 2)  # no waiting for the lease: the failed run released the job

    assert first == {"batchItemFailures": [{"itemIdentifier": f"msg-{response_id[-8:]}-1"}]}
    assert record.status == "in_progress" and record.heartbeat_at == 0
    assert second == {"batchItemFailures": []}
    assert background.record(response_id).status == "completed"
    _assert_one_run(background.replay(response_id), "completed")


def test_a_run_that_raises_on_its_last_delivery_ends_failed(background: Background, upstream: FakeUpstream) -> None:
    def explode(body: Json) -> Reply:
        raise RuntimeError("worker crashed")

    upstream.will(explode)
    response_id = background.create_streamed()

    # the delivery before SQS's last (the last is kept for failing a job that is not running)
    assert background.deliver(response_id, 2, worker_max_receives=3) == {"batchItemFailures": []}

    failed = background.client.get(f"/v1/responses/{response_id}").json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    assert "could not be completed" in failed["error"]["message"]
    events = background.replay(response_id)  # whatever the run flushed, then the failure: one sequence
    assert _types(events)[:2] == ["response.created", "response.queued"]
    assert [t for t in _types(events) if t in TERMINAL_EVENTS] == ["response.failed"]
    assert _types(events)[-1] == "response.failed" and events[-1]["response"]["status"] == "failed"


@pytest.mark.parametrize("state", ["queued", "dead"])
def test_exhausted_receives_end_failed_without_running(
    background: Background, upstream: FakeUpstream, state: str
) -> None:
    # Given a job never started, or one whose worker died mid-run
    upstream.will(text_reply(*[f"w{n} " for n in range(40)], delay=0.03))
    response_id = background.create_streamed()
    if state == "dead":
        _kill_mid_run(background, response_id, after_events=5)
    calls = len(upstream.requests)

    # When its last receive before the dead-letter queue comes (after the lease)
    last = background.runtime(clock=lambda: time.time() + LEASE + 1, worker_max_receives=3)
    try:
        assert last.handle(job_event(response_id, 3)) == {"batchItemFailures": []}
    finally:
        last.close()

    # Then it is failed with an error, without another model call, and a replay ends in response.failed
    failed = background.client.get(f"/v1/responses/{response_id}").json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    assert "could not be completed" in failed["error"]["message"]
    assert len(upstream.requests) == calls
    events = background.replay(response_id)
    assert _types(events)[:2] == ["response.created", "response.queued"]
    assert [t for t in _types(events) if t in TERMINAL_EVENTS] == ["response.failed"]
    assert _types(events)[-1] == "response.failed"
    # And any later delivery leaves it so
    assert background.deliver(response_id, 4) == {"batchItemFailures": []}
    assert background.record(response_id).status == "failed"


def test_the_last_receive_leaves_a_live_run_alone(background: Background, upstream: FakeUpstream) -> None:
    upstream.will(text_reply(*[f"w{n} " for n in range(15)], delay=0.03))
    response_id = background.create_streamed()
    running = background.start(response_id)
    background.wait_for(lambda: background.record(response_id).status == "in_progress")

    assert background.deliver(response_id, 3, worker_max_receives=3)["batchItemFailures"]

    running.join(10)
    assert background.record(response_id).status == "completed"


def test_an_upstream_refusal_ends_the_response_failed(background: Background, upstream: FakeUpstream) -> None:
    upstream.will(error_reply(400, "The model `nope` does not exist.", code="model_not_found"))
    response_id = background.create_streamed(model="nope")

    assert background.deliver(response_id) == {"batchItemFailures": []}

    failed = background.client.get(f"/v1/responses/{response_id}").json()
    assert failed["status"] == "failed"
    # a Response's error.code is one of OpenAI's ResponseErrorCode values; the upstream's message says the rest
    assert failed["error"] == {"code": "invalid_prompt", "message": "The model `nope` does not exist."}
    _assert_one_run(background.replay(response_id), "failed")


@contextlib.contextmanager
def _before_settle(status: str, act: Callable[[StoredResponse], None]) -> Iterator[None]:
    """Run ``act`` just before the first settle that writes ``status``: a racer landing first, on cue."""
    original = DynamoResponseStore.settle
    fired = threading.Event()

    def settle(self: DynamoResponseStore, record: StoredResponse, guard: Guard, events: Any = ()) -> bool:
        if record.status == status and not fired.is_set():
            fired.set()
            act(record)
        return original(self, record, guard, events)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoResponseStore, "settle", settle)
        yield
    assert fired.is_set()


def test_cancel_landing_just_before_completion_wins(background: Background) -> None:
    response_id = background.create_streamed()
    cancels: list[Any] = []

    with _before_settle(
        "completed", lambda _: cancels.append(background.client.post(f"/v1/responses/{response_id}/cancel"))
    ):
        assert background.deliver(response_id) == {"batchItemFailures": []}

    assert cancels[0].status_code == 200 and cancels[0].json()["status"] == "cancelled"
    assert background.record(response_id).status == "cancelled"
    assert not {"response.completed"} & set(_types(background.replay(response_id)))


def test_completion_landing_just_before_cancel_wins(background: Background) -> None:
    # Given a job a worker has claimed
    response_id = background.create_streamed()
    queued = background.record(response_id)
    claimed = background.store.claim(
        queued, Guard(frozenset({"queued"}), attempt=0), now=time.time(), response=queued.response
    )
    assert claimed is not None
    completions: list[bool] = []

    def complete(_: StoredResponse) -> None:
        done = claimed.response.model_copy(update={"status": "completed"})
        record = dataclasses.replace(claimed, status="completed", response=done)
        completions.append(background.store.settle(record, Guard(frozenset({"in_progress"}), attempt=1)))

    # When its completion lands between the cancel's read and the cancel's write
    with _before_settle("cancelled", complete):
        reply = background.client.post(f"/v1/responses/{response_id}/cancel")

    # Then the completion stands and the cancel reports it
    assert completions == [True]
    assert reply.status_code == 400 and reply.json()["error"]["message"] == "Cannot cancel a completed response."
    assert background.record(response_id).status == "completed"


def test_cancel_and_completion_racing_freely_agree_on_one_outcome(
    background: Background, upstream: FakeUpstream
) -> None:
    for pause in (0.0, 0.1, 0.15, 0.2, 0.4):
        upstream.will(text_reply("a ", "b ", "c ", "d", delay=0.02))
        response_id = background.create_streamed()
        worker = background.start(response_id)
        time.sleep(pause)  # the race itself: cancel before, during and after a short run
        reply = background.client.post(f"/v1/responses/{response_id}/cancel")
        worker.join(10)

        status = background.record(response_id).status
        terminal = [t for t in _types(background.replay(response_id)) if t in TERMINAL_EVENTS]
        if reply.status_code == 200:
            assert status == "cancelled" and terminal == [], pause
        else:
            assert reply.json()["error"]["message"] == "Cannot cancel a completed response."
            assert status == "completed" and terminal == ["response.completed"], pause


def test_the_batch_reply_names_only_records_to_retry(background: Background, upstream: FakeUpstream) -> None:
    def explode(body: Json) -> Reply:
        raise RuntimeError("worker crashed")

    upstream.will(explode)
    failing = background.create_streamed()
    fine = background.create_streamed()
    garbled = job_event(fine)["Records"][0] | {"messageId": "garbled", "body": "not json"}
    event = {"Records": [job_event(failing)["Records"][0], garbled, job_event(fine)["Records"][0]]}

    runtime = background.runtime()
    try:
        result = runtime.handle(event)
    finally:
        runtime.close()

    assert result == {"batchItemFailures": [{"itemIdentifier": f"msg-{failing[-8:]}-1"}]}
    assert background.record(fine).status == "completed"
