"""Background mode through the HTTP API (RESPONSES_API.md §7 items 48-54), with the real worker on moto SQS."""

from __future__ import annotations

import json
from typing import Any

import boto3
from fastapi.testclient import TestClient

from tests.background import Background, background
from tests.conftest import TABLE, AppFactory
from tests.fakes.upstream import FakeUpstream, text_reply
from tests.sse import parse

__all__ = ["background"]


def _replay(client: TestClient, response_id: str, query: str = "") -> list[dict[str, Any]]:
    with client.stream("GET", f"/v1/responses/{response_id}?stream=true{query}") as reply:
        assert reply.status_code == 200, reply.read()
        assert reply.headers["content-type"].startswith("text/event-stream")
        text = "".join(reply.iter_text())
    events = parse(text)
    assert all(name == data["type"] for name, data in events)
    return [data for _, data in events]


def test_create_returns_the_queued_response_at_once_and_enqueues_its_job(
    background: Background, upstream: FakeUpstream
) -> None:
    # When a background response is created
    created = background.create()

    # Then it comes back queued, before any model call
    assert created["status"] == "queued" and created["background"] is True
    assert created["usage"]["total_tokens"] == 0 and created["output"] == []
    assert not upstream.requests
    # And the job on the queue names only the tenant and the response
    sqs = boto3.client("sqs", region_name="us-east-1")
    [message] = sqs.receive_message(QueueUrl=background.queue_url)["Messages"]
    assert json.loads(message["Body"]) == {"tenant": "default", "response_id": created["id"]}
    # And GET shows it queued
    assert background.client.get(f"/v1/responses/{created['id']}").json()["status"] == "queued"


def test_background_without_a_queue_is_refused(client: TestClient) -> None:
    reply = client.post("/v1/responses", json={"model": "gpt-4o", "input": "hi", "background": True})

    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == "background"


def test_the_worker_completes_it_and_get_returns_the_result(background: Background, upstream: FakeUpstream) -> None:
    created = background.create(input="ping", instructions="be brief", metadata={"k": "v"})

    [result] = background.drain()

    assert result == {"batchItemFailures": []}
    done = background.client.get(f"/v1/responses/{created['id']}").json()
    assert done["status"] == "completed" and done["completed_at"] >= done["created_at"]
    assert done["output"][0]["content"][0]["text"] == "echo: ping"
    assert done["usage"]["total_tokens"] == 18
    # the same response: same id, created_at and echoed request
    for name in ("id", "created_at", "instructions", "metadata", "background", "model"):
        assert done[name] == created[name]
    # the model saw the stored input and the instructions
    assert upstream.last["messages"][-1]["content"] == "ping"
    items = background.client.get(f"/v1/responses/{created['id']}/input_items").json()["data"]
    assert [item["content"][0]["text"] for item in items] == ["ping"]


def test_background_chains_on_a_previous_response(background: Background, upstream: FakeUpstream) -> None:
    first = background.client.post("/v1/responses", json={"model": "gpt-4o", "input": "one"}).json()
    created = background.create(input="two", previous_response_id=first["id"])
    background.drain()

    done = background.client.get(f"/v1/responses/{created['id']}").json()
    assert done["status"] == "completed" and done["previous_response_id"] == first["id"]
    sent = [message["content"] for message in upstream.last["messages"]]
    assert sent[-3:] == ["one", "echo: one", "two"]


def test_background_stream_starts_queued_and_replays_identically(background: Background) -> None:
    # Given a background + stream request whose job runs while the client reads
    with background.client.stream(
        "POST", "/v1/responses", json={"model": "gpt-4o", "input": "hi", "background": True, "stream": True}
    ) as reply:
        assert reply.status_code == 200
        lines = reply.iter_lines()
        first, data = next(lines), next(lines)
        assert first == "event: response.created"
        response_id = json.loads(data[6:])["response"]["id"]
        background.start(response_id)
        text = "\n".join([first, data, *lines])
    live = [data for _, data in parse(text)]

    # Then the events start created(queued) -> queued -> in_progress and number 0, 1, 2, ...
    assert [event["type"] for event in live[:3]] == ["response.created", "response.queued", "response.in_progress"]
    assert live[0]["response"]["status"] == "queued" and live[0]["response"]["background"] is True
    assert [event["sequence_number"] for event in live] == list(range(len(live)))
    assert live[-1]["type"] == "response.completed"
    assert "".join(e["delta"] for e in live if e["type"] == "response.output_text.delta") == "echo: hi"
    # And GET ?stream=true replays exactly what was streamed live
    assert _replay(background.client, response_id) == live
    # And starting_after=N resumes right after N
    assert _replay(background.client, response_id, "&starting_after=4") == live[5:]
    assert _replay(background.client, response_id, f"&starting_after={len(live) + 3}") == []


def test_streaming_a_response_not_created_with_background_and_stream_is_a_400(background: Background) -> None:
    created = background.create()  # background, not stream
    synchronous = background.client.post("/v1/responses", json={"model": "gpt-4o", "input": "x", "stream": True})
    synchronous_id = next(data for _, data in parse(synchronous.text))["response"]["id"]

    for response_id in (created["id"], synchronous_id):
        reply = background.client.get(f"/v1/responses/{response_id}?stream=true")
        assert reply.status_code == 400
        assert reply.json()["error"]["param"] == "stream"
    assert background.client.get("/v1/responses/resp_unknown?stream=true").status_code == 404


def test_a_client_disconnecting_mid_stream_does_not_stop_the_response(
    background: Background, upstream: FakeUpstream
) -> None:
    upstream.will(text_reply(*[f"w{n} " for n in range(20)], delay=0.02))
    with background.client.stream(
        "POST", "/v1/responses", json={"model": "gpt-4o", "input": "hi", "background": True, "stream": True}
    ) as reply:
        lines = reply.iter_lines()
        next(lines)
        response_id = json.loads(next(lines)[6:])["response"]["id"]
        background.start(response_id)
        # read until the model is producing, then hang up
        while "output_text.delta" not in next(lines):
            pass

    background.wait_for(lambda: background.record(response_id).status == "completed")
    done = background.client.get(f"/v1/responses/{response_id}").json()
    assert done["output"][0]["content"][0]["text"] == "".join(f"w{n} " for n in range(20))


def test_get_while_running_shows_progress_and_delete_waits_for_the_end(
    background: Background, upstream: FakeUpstream
) -> None:
    upstream.will(text_reply(*[f"w{n} " for n in range(30)], delay=0.03))
    created = background.create()
    worker = background.start(created["id"])

    def partial_text() -> str:
        body = background.client.get(f"/v1/responses/{created['id']}").json()
        if body["status"] != "in_progress" or not body["output"] or not body["output"][0]["content"]:
            return ""
        text: str = body["output"][0]["content"][0]["text"]
        return text

    # While it runs, GET shows it in progress with the text so far
    background.wait_for(lambda: partial_text().startswith("w0 w1 "))
    # And it cannot be deleted
    reply = background.client.delete(f"/v1/responses/{created['id']}")
    assert reply.status_code == 400 and reply.json()["error"]["message"] == "Cannot delete an in-flight response."

    worker.join(10)
    assert background.client.delete(f"/v1/responses/{created['id']}").status_code == 200
    assert background.client.get(f"/v1/responses/{created['id']}").status_code == 404


def test_deleting_a_finished_background_stream_deletes_its_events(background: Background) -> None:
    response_id = background.create_streamed()
    background.deliver(response_id)
    assert background.log.read("default", response_id, 1, -1)

    assert background.client.delete(f"/v1/responses/{response_id}").status_code == 200

    assert background.log.read("default", response_id, 0, -1) == []
    assert background.log.read("default", response_id, 1, -1) == []


def test_an_output_too_large_for_dynamodb_replays_byte_identical(
    background: Background, upstream: FakeUpstream
) -> None:
    # Given a background stream whose answer (and so its response.completed event) is over DynamoDB's 400 KB
    pieces = [f"{n:06d}" + "x" * 99_994 for n in range(5)]
    upstream.will(text_reply(*pieces))
    response_id = background.create_streamed()

    background.deliver(response_id)

    # Then the response and every event come back whole
    done = background.client.get(f"/v1/responses/{response_id}").json()
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "".join(pieces)
    events = _replay(background.client, response_id)
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["output"] == done["output"]


def test_a_job_the_queue_refuses_leaves_no_response_queued_forever(make_client: AppFactory) -> None:
    client = make_client(queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/no-such-queue")

    reply = client.post("/v1/responses", json={"model": "gpt-4o", "input": "hi", "background": True})

    assert reply.status_code == 500
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    assert [item["status"]["S"] for item in items if item["sk"]["S"].startswith("r#")] == ["failed"]
