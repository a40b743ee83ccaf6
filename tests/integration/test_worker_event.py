"""events/sqs-background-job.json through the real worker handler (``gateway.handlers.worker.handler``), built
from the environment as on Lambda, against moto and a loopback upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from gateway.domain.ports import BackgroundJob
from gateway.handlers import worker
from tests.conftest import TABLE, AppFactory
from tests.fakes.upstream import FakeUpstream

EVENT = Path(__file__).resolve().parents[2] / "events" / "sqs-background-job.json"
SAMPLE_ID = "resp_6a1f0c2e9b7d4e5f80a1b2c3d4e5f60718293a4b5c6d7e8f90"


class LambdaContext:
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    function_name = "responses-gateway-worker"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def load_event(response_id: str = SAMPLE_ID) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(EVENT.read_text().replace(SAMPLE_ID, response_id))
    return event


@pytest.fixture
def env(aws: None, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The worker's deployed-like environment; yields the jobs queue URL."""
    queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="jobs")["QueueUrl"]
    with upstream.serve() as base_url:
        monkeypatch.setenv("RESPONSES_TABLE_NAME", TABLE)
        monkeypatch.setenv("RESPONSES_QUEUE_URL", queue_url)
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-upstream-test")
        worker.reset()  # each test is a cold start
        yield queue_url
        worker.reset()


def test_the_sample_body_is_the_job_message_contract() -> None:
    [record] = load_event()["Records"]
    assert json.loads(record["body"]) == BackgroundJob(tenant="default", response_id=SAMPLE_ID).model_dump()
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_the_sample_event_runs_a_queued_response_to_completion(
    env: str, make_client: AppFactory, upstream: FakeUpstream
) -> None:
    # Given a background response created through the API
    client = make_client(queue_url=env)
    created = client.post("/v1/responses", json={"model": "gpt-4o", "input": "ping", "background": True}).json()
    assert created["status"] == "queued"

    # When the SQS event for its job reaches the handler
    result = worker.handler(load_event(created["id"]), LambdaContext())

    # Then nothing is left to retry and the response is completed through the upstream
    assert result == {"batchItemFailures": []}
    done = client.get(f"/v1/responses/{created['id']}").json()
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["text"] == "echo: ping"
    assert upstream.headers[-1]["authorization"] == "Bearer sk-upstream-test"


def test_the_sample_event_about_an_unknown_response_is_a_no_op(env: str, upstream: FakeUpstream) -> None:
    assert worker.handler(load_event(), LambdaContext()) == {"batchItemFailures": []}
    assert not upstream.requests
