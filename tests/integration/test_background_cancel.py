"""POST /v1/responses/{id}/cancel (RESPONSES_API.md §1 and §7 item 49)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.background import Background, background
from tests.conftest import AppFactory
from tests.fakes.upstream import FakeUpstream, text_reply
from tests.sse import parse

__all__ = ["background"]


def _cancel(client: TestClient, response_id: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    reply = client.post(f"/v1/responses/{response_id}/cancel")
    return reply.status_code, reply.json()


def test_cancelling_a_queued_response_means_it_never_runs(background: Background, upstream: FakeUpstream) -> None:
    created = background.create()

    status, cancelled = _cancel(background.client, created["id"])
    again_status, again = _cancel(background.client, created["id"])
    background.drain()  # the job is still delivered

    assert status == 200 and cancelled["status"] == "cancelled" and cancelled["id"] == created["id"]
    assert again_status == 200 and again == cancelled
    assert not upstream.requests
    assert background.client.get(f"/v1/responses/{created['id']}").json() == cancelled


def test_cancelling_mid_run_stops_the_upstream_and_keeps_the_partial_output(
    background: Background, upstream: FakeUpstream
) -> None:
    # Given a slow background stream (50 chunks, 2.5 s in all) that the worker has started
    upstream.will(text_reply(*[f"w{n} " for n in range(50)], delay=0.05))
    created = {"id": background.create_streamed()}
    started = time.monotonic()
    worker = background.start(created["id"])
    background.wait_for(
        lambda: (
            "w2" in background.client.get(f"/v1/responses/{created['id']}").text
            and background.record(created["id"]).status == "in_progress"
        )
    )

    # When it is cancelled
    status, cancelled = _cancel(background.client, created["id"])

    # Then the cancel answers with the output so far, unfinished items marked incomplete
    assert status == 200 and cancelled["status"] == "cancelled"
    [message] = cancelled["output"]
    assert message["status"] == "incomplete" and message["content"][0]["text"].startswith("w0 w1 w2")
    # And the worker stops well before the upstream would have finished (it closed the stream)
    worker.join(10)
    assert time.monotonic() - started < 2.0
    # And the response stays cancelled; a replay ends without a terminal event
    assert background.record(created["id"]).status == "cancelled"
    assert _cancel(background.client, created["id"]) == (200, cancelled)
    replay = [data for _, data in parse(background.client.get(f"/v1/responses/{created['id']}?stream=true").text)]
    assert replay[0]["type"] == "response.created"
    assert not {"response.completed", "response.failed", "response.incomplete"} & {e["type"] for e in replay}


def test_cancelling_a_finished_response_is_a_400(background: Background, upstream: FakeUpstream) -> None:
    completed = background.create()
    upstream.will(text_reply("a"), text_reply("b", finish="length"))
    incomplete = background.create(max_output_tokens=16)
    background.drain()

    for created, status in ((completed, "completed"), (incomplete, "incomplete")):
        code, body = _cancel(background.client, created["id"])
        assert code == 400
        assert body["error"]["message"] == f"Cannot cancel a {status} response."
        assert background.client.get(f"/v1/responses/{created['id']}").json()["status"] == status


def test_cancelling_a_synchronous_unknown_or_foreign_response(make_client: AppFactory, background: Background) -> None:
    synchronous = background.client.post("/v1/responses", json={"model": "gpt-4o", "input": "x"}).json()
    code, body = _cancel(background.client, synchronous["id"])
    assert code == 400
    assert body["error"]["message"] == "Only responses created with background=true can be cancelled."

    assert _cancel(background.client, "resp_unknown")[0] == 404

    # Another tenant's background response is not found, and stays queued
    keyed = make_client(**background.settings_overrides, api_keys="tenant-a:key-a,tenant-b:key-b")
    mine = keyed.post(
        "/v1/responses",
        json={"model": "gpt-4o", "input": "x", "background": True},
        headers={"authorization": "Bearer key-a"},
    ).json()
    other = keyed.post(f"/v1/responses/{mine['id']}/cancel", headers={"authorization": "Bearer key-b"})
    assert other.status_code == 404
    assert keyed.get(f"/v1/responses/{mine['id']}", headers={"authorization": "Bearer key-a"}).json()["status"] == (
        "queued"
    )
