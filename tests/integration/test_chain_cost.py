"""A chained turn loads its whole context in O(1) DynamoDB round trips, whatever the depth."""

from __future__ import annotations

from collections import Counter
from typing import Any

from botocore.client import BaseClient
from fastapi.testclient import TestClient

from tests.fakes.upstream import FakeUpstream


def count_calls(counter: Counter[str]) -> Any:
    def hook(model: Any, **_: Any) -> None:
        counter[model.name] += 1

    return hook


def test_context_of_a_turn_50_deep_costs_a_constant_number_of_requests(
    client: TestClient, upstream: FakeUpstream
) -> None:
    # GIVEN a conversation 50 turns deep
    tip = None
    for turn in range(50):
        body = {"model": "m", "input": f"turn {turn}", "previous_response_id": tip}
        tip = client.post("/v1/responses", json=body).json()["id"]
    dynamodb: BaseClient = client.app.state.services.responses._store.blocking._client  # type: ignore[attr-defined]
    calls: Counter[str] = Counter()
    dynamodb.meta.events.register("before-call.dynamodb", count_calls(calls))

    # WHEN turn 51 continues it
    reply = client.post("/v1/responses", json={"model": "m", "input": "turn 50", "previous_response_id": tip})

    # THEN one Query loaded the context, one PutItem stored the result, and two UpdateItems added its usage to
    # the ledger's day and hour (store/usage.py)
    assert reply.status_code == 200
    assert calls == Counter({"Query": 1, "PutItem": 1, "UpdateItem": 2})
    assert len([m for m in upstream.last["messages"] if m["role"] == "user"]) == 51
