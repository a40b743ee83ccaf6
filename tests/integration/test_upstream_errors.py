"""Upstream failures: 429 and 4xx pass through as client errors, 5xx and broken streams fail the response."""

from __future__ import annotations

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import TABLE, AppFactory
from tests.fakes.upstream import FakeUpstream, Reply, error_reply, text_reply
from tests.sse import stream


def test_rate_limit_passes_through_with_retry_after(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(error_reply(429, "Slow down.", code="rate_limit_exceeded", headers={"retry-after": "7"}))
    reply = client.post("/v1/responses", json={"model": "m", "input": "hi"})
    assert reply.status_code == 429
    assert reply.headers["retry-after"] == "7"
    error = reply.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and "Slow down." in error["message"]


def test_upstream_client_error_is_a_400_with_its_message(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(error_reply(404, "The model `nope` does not exist.", code="model_not_found"))
    reply = client.post("/v1/responses", json={"model": "nope", "input": "hi"})
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == "The model `nope` does not exist."


def test_upstream_credentials_refused(client: TestClient, upstream: FakeUpstream) -> None:
    # The gateway's own key was refused: not the caller's fault (so not a 400 or a 401, which would say the
    # caller's key is wrong), and the upstream's message, which quotes the masked key, stays in the log.
    upstream.will(error_reply(401, "Incorrect API key provided: sk-up***ey.", code="invalid_api_key"))
    reply = client.post("/v1/responses", json={"model": "m", "input": "hi"})
    assert reply.status_code == 502
    error = reply.json()["error"]
    assert "refused the gateway's credentials" in error["message"] and "OPENAI_API_KEY" in error["message"]
    assert "sk-up" not in error["message"]
    assert reply.headers["x-should-retry"] == "false"  # the SDKs would otherwise retry a 502 twice, in vain


def test_upstream_5xx_is_a_502_and_stored_failed(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(error_reply(503, "overloaded"))
    reply = client.post("/v1/responses", json={"model": "m", "input": "hi"})
    assert reply.status_code == 502
    assert reply.json()["error"]["type"] == "server_error"
    assert reply.json()["error"]["code"] == "server_error"
    # the failed response is kept: one record, status failed (beside the usage ledger's rows)
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    assert [item["status"]["S"] for item in items if "response" in item] == ["failed"]


def test_upstream_5xx_while_streaming_is_response_failed(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(error_reply(500, "boom"))
    events = stream(client, {"model": "m", "input": "hi"})
    assert [event["type"] for event in events] == ["response.created", "response.in_progress", "response.failed"]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    stored = client.get(f"/v1/responses/{failed['id']}").json()
    assert stored["status"] == "failed" and stored["error"] == failed["error"]


def test_stream_broken_mid_way(client: TestClient, upstream: FakeUpstream) -> None:
    broken = text_reply("partial")
    upstream.will(Reply(chunks=broken.chunks[:2], done=False))
    events = stream(client, {"model": "m", "input": "hi"})
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "partial"
    assert events[-1]["response"]["output"][0]["status"] == "incomplete"


def test_error_inside_the_stream(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(Reply(chunks=[{"error": {"message": "model crashed"}}]))
    body = client.post("/v1/responses", json={"model": "m", "input": "hi"})
    assert body.status_code == 502 and "model crashed" in body.json()["error"]["message"]


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_unreachable_upstream(make_client: AppFactory, failure: Exception) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    client = make_client()
    registry = client.app.state.services.providers  # type: ignore[attr-defined]
    registry._http_transport = httpx.MockTransport(fail)
    reply = client.post("/v1/responses", json={"model": "m", "input": "hi"})
    assert reply.status_code == 502
    assert reply.json()["error"]["code"] == "server_error"


def test_context_too_long_without_truncation(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(error_reply(400, "This model's maximum context length is 10 tokens.", code="context_length_exceeded"))
    reply = client.post("/v1/responses", json={"model": "m", "input": "hi"})
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "context_length_exceeded"
    assert reply.json()["error"]["param"] == "input"


def test_truncation_auto_drops_the_oldest_items(client: TestClient, upstream: FakeUpstream) -> None:
    # GIVEN a conversation of four turns
    tip = None
    for turn in range(4):
        body = {"model": "m", "input": f"turn {turn}", "previous_response_id": tip}
        tip = client.post("/v1/responses", json=body).json()["id"]
    too_long = error_reply(400, "maximum context length exceeded")
    # WHEN the upstream refuses the full context twice
    upstream.will(too_long, too_long)

    reply = client.post(
        "/v1/responses", json={"model": "m", "input": "turn 4", "previous_response_id": tip, "truncation": "auto"}
    )

    # THEN the gateway retried with less history each time, oldest first, keeping this turn's input
    assert reply.status_code == 200
    sizes = [len(request["messages"]) for request in upstream.requests[-3:]]
    assert sizes[0] == 9 and sizes[0] > sizes[1] > sizes[2]
    assert upstream.last["messages"][-1] == {"role": "user", "content": "turn 4"}
    assert upstream.last["messages"][0]["role"] == "user"


def test_truncation_auto_gives_up_when_only_the_input_is_left(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(*[error_reply(400, "maximum context length exceeded")] * 3)
    reply = client.post("/v1/responses", json={"model": "m", "input": "hi", "truncation": "auto"})
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "context_length_exceeded"
