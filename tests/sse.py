"""Parse an SSE body the way the SDKs do, keeping the ``event:`` name next to the data."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient


def parse(body: str) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    for block in body.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if not lines:
            continue
        name = next(line[7:] for line in lines if line.startswith("event: "))
        data = "".join(line[6:] for line in lines if line.startswith("data: "))
        events.append((name, json.loads(data)))
    return events


def stream(client: TestClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST a streaming create and return the event payloads (asserting the SSE framing on the way)."""
    with client.stream("POST", "/v1/responses", json={**body, "stream": True}) as reply:
        assert reply.status_code == 200, reply.read()
        assert reply.headers["content-type"].startswith("text/event-stream")
        text = "".join(reply.iter_text())
    assert "[DONE]" not in text
    parsed = parse(text)
    for name, data in parsed:
        assert name == data["type"]
    return [data for _, data in parsed]


TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]
"""The documented event order of a text answer streamed in three pieces."""


def by_type(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        grouped.setdefault(event["type"], []).append(event)
    return grouped


def comparable(response: dict[str, Any]) -> dict[str, Any]:
    """A response without what differs between two runs of the same request (ids and clocks)."""
    volatile = {"id", "created_at", "completed_at"}
    body = {key: value for key, value in response.items() if key not in volatile}
    body["output"] = [{k: v for k, v in item.items() if k != "id"} for item in body["output"]]
    return body
