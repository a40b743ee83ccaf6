"""The Response fields the two specs pin down and the gateway once got wrong, end to end through the real app.

Each check here would also be caught by the judge; these say what the right value is, not only that it conforms.
"""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.contract import plugin
from tests.contract.judge import Violation
from tests.sse import stream


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    reply = client.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hi", **body})
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def test_penalties_are_echoed_and_default_to_zero(client: TestClient) -> None:
    plain = create(client)
    tuned = create(client, presence_penalty=0.5, frequency_penalty=-1.25)

    assert (plain["presence_penalty"], plain["frequency_penalty"]) == (0, 0)
    assert (tuned["presence_penalty"], tuned["frequency_penalty"]) == (0.5, -1.25)
    stored = client.get(f"/v1/responses/{tuned['id']}").json()
    assert (stored["presence_penalty"], stored["frequency_penalty"]) == (0.5, -1.25)


def test_user_is_left_out_unless_the_request_set_it(client: TestClient) -> None:
    assert "user" not in create(client)
    assert create(client, user="u-42")["user"] == "u-42"


def test_usage_is_left_out_until_the_response_has_it(client: TestClient) -> None:
    events = stream(client, {"model": "gpt-4o-mini", "input": "hi", "presence_penalty": 1.5})

    created, completed = events[0]["response"], events[-1]["response"]
    # usage is all zeros until the response finishes: both judges accept that, neither accepts null or nothing
    assert created["usage"]["total_tokens"] == 0 and events[1]["response"]["usage"]["total_tokens"] == 0
    assert created["presence_penalty"] == 1.5
    assert (
        completed["usage"]["total_tokens"] == completed["usage"]["input_tokens"] + completed["usage"]["output_tokens"]
    )


def test_an_empty_input_item_page_has_string_ids(client: TestClient) -> None:
    body = create(client, input=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    url = f"/v1/responses/{body['id']}/input_items"
    last = client.get(url, params={"order": "asc"}).json()["last_id"]

    page = client.get(url, params={"order": "asc", "after": last}).json()

    assert page == {"object": "list", "data": [], "first_id": "", "last_id": "", "has_more": False}


def violation(path: str) -> Violation:
    return Violation("openai", "Response", path, None, "type", "None is not of type 'string'", "POST /v1/responses 200")


def test_a_violation_fails_the_test_that_caused_it_and_only_in_the_judged_suites(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for tally in ("_failed", "_tolerated", "_outside"):
        monkeypatch.setattr(plugin, tally, Counter())  # keep the session summary about real replies
    monkeypatch.setattr(plugin, "_examples", {})
    plugin._sink.take()
    plugin._sink.judged([violation("/user")])
    with pytest.raises(pytest.fail.Exception, match="/user"):
        plugin._verdict(SimpleNamespace(nodeid="tests/integration/test_x.py::test_y"), fail=True)  # type: ignore[arg-type]

    plugin._sink.judged([violation("/user")])
    plugin._verdict(SimpleNamespace(nodeid="tests/unit/test_x.py::test_y"), fail=True)  # type: ignore[arg-type]
    assert plugin._sink.take() == []
    assert sum(plugin._failed.values()) == 1 and sum(plugin._outside.values()) == 1
