"""Every log line of a request names it: the ``x-request-id`` the client got back, and the tenant once known."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import httpx
import pytest

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.providers.registry import ProviderRegistry
from gateway.store.dynamodb import DynamoResponseStore
from tests.conftest import AppFactory, make_settings
from tests.fakes.upstream import FakeUpstream, Json, Reply, echo, error_reply
from tests.log_lines import UPSTREAM_LOGGER, LogLines, log_lines

__all__ = ["log_lines"]
KEYS = "acme:key-acme,globex:key-globex"


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _upstream_logs(marker: str) -> Callable[[Json], Reply]:
    """A scripted upstream reply that logs ``marker`` first, from inside the gateway's call to it."""

    def reply(body: Json) -> Reply:
        logging.getLogger(UPSTREAM_LOGGER).warning("upstream called for %s", marker)
        return echo(body)

    return reply


def test_a_line_logged_by_the_route_carries_the_request_id_and_tenant(
    make_client: AppFactory, log_lines: LogLines
) -> None:
    client = make_client(api_keys=KEYS)
    body = {"model": "m", "input": "hi", "tools": [{"type": "web_search"}]}

    reply = client.post("/v1/responses", json=body, headers=_auth("key-acme"))

    assert reply.status_code == 200
    [line] = log_lines.matching("omitted tools")  # logged by the route itself
    assert line["request_id"] == reply.headers["x-request-id"]
    assert line["tenant"] == "acme"
    assert line["level"] == "INFO" and line["logger"] == "gateway"


def test_the_access_line_names_request_tenant_status_and_duration(make_client: AppFactory, log_lines: LogLines) -> None:
    client = make_client(api_keys=KEYS)
    created = client.post("/v1/responses", json={"model": "m", "input": "hi"}, headers=_auth("key-globex"))
    missing = client.get("/v1/responses/resp_nope", headers=_auth("key-globex"))
    refused = client.get("/v1/responses/resp_nope")

    access = [line for line in log_lines.all() if line["logger"] == "gateway.access"]
    assert [(line["request_id"], line["status"]) for line in access] == [
        (created.headers["x-request-id"], 200),
        (missing.headers["x-request-id"], 404),
        (refused.headers["x-request-id"], 401),
    ]
    assert [line.get("tenant") for line in access] == ["globex", "globex", None]  # no key, no tenant
    assert access[0]["message"] == "POST /v1/responses 200"
    assert all(isinstance(line["duration_ms"], float) for line in access)


def test_a_line_logged_while_a_stream_runs_carries_its_request_id(
    make_client: AppFactory, upstream: FakeUpstream, log_lines: LogLines
) -> None:
    client = make_client(api_keys=KEYS)
    upstream.will(_upstream_logs("the stream"))

    with client.stream(
        "POST", "/v1/responses", json={"model": "m", "input": "hi", "stream": True}, headers=_auth("key-acme")
    ) as reply:
        request_id = reply.headers["x-request-id"]
        reply.read()

    [line] = log_lines.matching("upstream called for the stream")
    assert line["request_id"] == request_id and line["tenant"] == "acme"
    assert line["level"] == "WARN"  # the name Lambda's log-level filter knows


def test_an_upstream_failure_is_logged_with_the_request_id(
    make_client: AppFactory, upstream: FakeUpstream, log_lines: LogLines
) -> None:
    client = make_client(api_keys=KEYS)
    upstream.will(error_reply(401, "Incorrect API key provided: sk-up***ey.", code="invalid_api_key"))

    reply = client.post("/v1/responses", json={"model": "m", "input": "hi"}, headers=_auth("key-acme"))

    assert reply.status_code == 502
    [line] = log_lines.matching("refused the gateway's credentials")
    assert line["tenant"] == "acme" and line["request_id"].startswith("req_")


@pytest.mark.anyio
async def test_interleaved_requests_keep_their_own_ids(aws: None, log_lines: LogLines) -> None:
    """Two requests in flight at once on one event loop: each one's lines name it, never the other."""
    both_arrived = asyncio.Event()
    arrived: list[str] = []
    fake = FakeUpstream()

    async def upstream(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        marker = body["messages"][-1]["content"]
        arrived.append(marker)
        if len(arrived) == 2:
            both_arrived.set()
        await asyncio.wait_for(both_arrived.wait(), 5)  # the first request waits here for the second
        logging.getLogger(UPSTREAM_LOGGER).warning("upstream answering %s", marker)
        return await fake.transport().handle_async_request(request)

    settings = make_settings(api_keys=KEYS)
    registry = ProviderRegistry(settings, http_transport=httpx.MockTransport(upstream))
    app = create_app(build_services(settings, providers=registry))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        first, second = await asyncio.gather(
            client.post("/v1/responses", json={"model": "m", "input": "alpha"}, headers=_auth("key-acme")),
            client.post("/v1/responses", json={"model": "m", "input": "beta"}, headers=_auth("key-globex")),
        )
    await registry.aclose()

    assert first.status_code == second.status_code == 200
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    [alpha] = log_lines.matching("upstream answering alpha")
    [beta] = log_lines.matching("upstream answering beta")
    assert (alpha["request_id"], alpha["tenant"]) == (first.headers["x-request-id"], "acme")
    assert (beta["request_id"], beta["tenant"]) == (second.headers["x-request-id"], "globex")


@pytest.mark.parametrize("streamed", [False, True])
def test_the_input_and_output_never_reach_the_log_at_info(
    make_client: AppFactory, log_lines: LogLines, streamed: bool
) -> None:
    client = make_client(api_keys=KEYS)
    secret = "the-launch-code-is-4711"
    body = {"model": "m", "input": secret, "instructions": f"never say {secret}", "stream": streamed}

    reply = client.post("/v1/responses", json=body, headers=_auth("key-acme"))

    assert reply.status_code == 200 and secret in reply.text  # the echo upstream said it back: it was there
    assert log_lines.all()  # the request was logged ...
    assert secret not in log_lines.text  # ... without its input or its output
    assert "key-acme" not in log_lines.text


def test_an_unexpected_error_is_one_json_line_with_the_request_id_and_the_trace(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("the table is on fire")

    client = make_client(api_keys=KEYS)
    monkeypatch.setattr(DynamoResponseStore, "get", boom)

    reply = client.get("/v1/responses/resp_" + "0" * 50, headers=_auth("key-acme"))

    assert reply.status_code == 500
    # logged by the 500 handler, which runs outside the middleware: the request's scope is still its own
    [line] = [line for line in log_lines.all() if "errorType" in line]
    assert (line["request_id"], line["tenant"]) == (reply.headers["x-request-id"], "acme")
    assert (line["errorType"], line["errorMessage"]) == ("RuntimeError", "the table is on fire")
    [access] = [line for line in log_lines.all() if line["logger"] == "gateway.access"]
    assert (access["request_id"], access["status"]) == (reply.headers["x-request-id"], 500)
