"""events/*.json through the real Mangum handler (``gateway.handlers.api.handler``), against moto and a loopback
upstream: the exact payload API Gateway sends, the exact dict it gets back. (The SQS event belongs to the
worker's own tests.)"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway_infra.tools.invoke import EVENT_API_KEY, LambdaContext, handler_module
from tests.conftest import TABLE
from tests.fakes.upstream import FakeUpstream

Event = dict[str, Any]
Invoke = Callable[[Event], dict[str, Any]]

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
SAMPLE_ID = "resp_6a1f0c2e9b7d4e5f80a1b2c3d4e5f60718293a4b5c6d7e8f90"
"""The response id written in the retrieve/delete/input_items/cancel events."""


def load_event(name: str, *, response_id: str = SAMPLE_ID) -> Event:
    """An event file, optionally about another response (its path and path parameters rewritten)."""
    event: Event = json.loads((EVENTS / name).read_text().replace(SAMPLE_ID, response_id))
    return event


def body(result: dict[str, Any]) -> Any:
    assert result["isBase64Encoded"] is False
    return json.loads(result["body"])


@pytest.fixture
def invoke(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """The deployed handler with a deployed-like environment. No upstream: see ``served``."""
    monkeypatch.setenv("RESPONSES_TABLE_NAME", TABLE)
    monkeypatch.setenv("RESPONSES_REQUIRE_AUTH", "true")
    monkeypatch.setenv("RESPONSES_API_KEYS", f"default:{EVENT_API_KEY}")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # discard port: never reached
    monkeypatch.setenv("OPENAI_API_KEY", "sk-upstream-test")
    # Mangum runs the app on the thread's current event loop (and creates one at import if none is set): give
    # it one per test and close it after, so no loop outlives the test.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    from gateway.handlers.api import handler

    # Each test is a cold start: services are rebuilt from this test's settings and moto account.
    handler.app.state.services = None
    yield lambda event: handler(event, LambdaContext())
    services = handler.app.state.services
    handler.app.state.services = None
    if services is not None:
        loop.run_until_complete(services.providers.aclose())
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def served(invoke: Invoke, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """``invoke``, with the fake upstream listening on a loopback port (the handler makes real HTTP calls)."""
    with upstream.serve() as base_url:
        monkeypatch.setenv("OPENAI_BASE_URL", base_url)
        yield invoke


def test_create_event_returns_a_stored_response(served: Invoke, upstream: FakeUpstream) -> None:
    result = served(load_event("http-create-response.json"))

    assert result["statusCode"] == 200, result["body"]
    assert result["headers"]["content-type"] == "application/json"
    response = body(result)
    assert response["object"] == "response" and response["status"] == "completed"
    assert response["id"].startswith("resp_") and response["store"] is True
    assert response["output"][0]["content"][0]["text"] == "echo: Write a haiku about serverless computing."
    # the provider prefix routes, the upstream sees its own model name and key, never the caller's
    assert upstream.last["model"] == "gpt-4o-mini"
    assert upstream.headers[-1]["authorization"] == "Bearer sk-upstream-test"


def test_retrieve_input_items_and_delete_events_act_on_a_created_response(served: Invoke) -> None:
    # GIVEN a response created through the create event
    created = body(served(load_event("http-create-response.json")))
    response_id = created["id"]

    # WHEN the other events name it
    retrieved = served(load_event("http-retrieve-response.json", response_id=response_id))
    items = served(load_event("http-list-input-items.json", response_id=response_id))
    cancelled = served(load_event("http-cancel-response.json", response_id=response_id))
    deleted = served(load_event("http-delete-response.json", response_id=response_id))
    gone = served(load_event("http-retrieve-response.json", response_id=response_id))

    # THEN each answers as the OpenAI API does
    assert retrieved["statusCode"] == 200 and body(retrieved) == created
    assert items["statusCode"] == 200
    [item] = body(items)["data"]
    assert item["role"] == "user" and item["content"][0]["text"] == "Write a haiku about serverless computing."
    assert cancelled["statusCode"] == 400  # only background responses can be cancelled
    assert body(cancelled)["error"]["type"] == "invalid_request_error"
    assert deleted["statusCode"] == 200
    assert body(deleted) == {"id": response_id, "object": "response", "deleted": True}
    assert gone["statusCode"] == 404


@pytest.mark.parametrize(
    "name",
    [
        "http-retrieve-response.json",
        "http-delete-response.json",
        "http-list-input-items.json",
        "http-cancel-response.json",
    ],
)
def test_events_about_an_unknown_response_are_404_in_the_openai_envelope(invoke: Invoke, name: str) -> None:
    result = invoke(load_event(name))

    assert result["statusCode"] == 404
    error = body(result)["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"] == f"Response with id '{SAMPLE_ID}' not found."


def test_an_event_without_the_bearer_key_is_refused(invoke: Invoke, upstream: FakeUpstream) -> None:
    event = load_event("http-create-response.json")
    del event["headers"]["Authorization"]
    del event["multiValueHeaders"]["Authorization"]

    result = invoke(event)

    assert result["statusCode"] == 401
    assert body(result)["error"]["code"] == "missing_api_key"
    assert not upstream.requests


def test_every_event_is_shaped_as_lambda_delivers_it() -> None:
    for path in sorted(EVENTS.glob("*.json")):
        event = json.loads(path.read_text())
        if path.name.startswith("http-"):
            assert handler_module(event) == "gateway.handlers.api", path.name
            assert event["requestContext"]["resourcePath"] == event["resource"], path.name
            assert event["headers"]["Authorization"] == f"Bearer {EVENT_API_KEY}", path.name
            assert event["multiValueHeaders"] == {name: [value] for name, value in event["headers"].items()}
        else:
            assert handler_module(event) == "gateway.handlers.worker", path.name
            [record] = event["Records"]
            assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
            assert json.loads(record["body"]) == {"tenant": "default", "response_id": SAMPLE_ID}


# `make invoke` itself (each event on its own, in a fresh moto): test_invoke_tool.py.
