"""An upstream 429 on a background job waits for the upstream's ``Retry-After`` instead of failing the job (issue
11, fault probe 4(5)): the job is released without counting a failure and its message hidden for that long."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from gateway.dev.worker import sqs_event
from gateway.domain.retry import retry_after_seconds
from tests.background import REGION, Background, background
from tests.fakes.upstream import FakeUpstream, error_reply

__all__ = ["background"]
ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"


def _receive(queue_url: str) -> list[Any]:
    sqs = boto3.client("sqs", region_name=REGION)
    reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, AttributeNames=["All"])
    messages: list[Any] = reply.get("Messages", [])
    return messages


def _handle(background: Background, message: Any) -> dict[str, Any]:
    runtime = background.runtime()
    try:
        return runtime.handle(sqs_event(message, ARN, REGION))
    finally:
        runtime.close()


def test_a_throttled_job_runs_again_after_retry_after_without_failing(
    background: Background, upstream: FakeUpstream
) -> None:
    upstream.will(error_reply(429, "Rate limit reached.", code="rate_limit_exceeded", headers={"retry-after": "3"}))
    created = background.create(input="patience")
    [message] = _receive(background.queue_url)

    # When the upstream answers 429 with Retry-After: 3
    handled_at = time.monotonic()
    result = _handle(background, message)

    # Then the job is not failed: its message is kept, hidden for about 3 s, and no failure is counted
    assert result == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    record = background.record(created["id"])
    assert record.status != "failed" and record.failures == 0
    while not (again := _receive(background.queue_url)):
        assert time.monotonic() - handled_at < 6, "the throttled job's message did not come back"
        time.sleep(0.1)
    assert time.monotonic() - handled_at >= 2.5  # not before the upstream said
    # And the next delivery runs it to completion
    assert _handle(background, again[0]) == {"batchItemFailures": []}
    done = background.client.get(f"/v1/responses/{created['id']}").json()
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "echo: patience"
    assert len(upstream.requests) == 2


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        ("0.2", 1.0),
        (None, 5.0),
        ("soon", 5.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("99999999", 43_200.0),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date_within_bounds(header: str | None, expected: float) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retry_after_seconds(header, 5.0, now=now) == expected
